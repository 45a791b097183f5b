"""monitor: post-dose observation of ketamine and esketamine treatment sessions."""

__version__ = "0.1.0"
