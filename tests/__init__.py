"""The test suite (docs/architecture.md, "Tests").

Bytecode is cached, in the test processes and in those they start, whatever the environment
says. This machine's sets PYTHONDONTWRITEBYTECODE=1, and then every interpreter a test starts
(a `monitor` process, a fault test's writer, a fresh-import check) compiled each of the
project's modules again, and each worker its test modules (docs/architecture.md, "Cheap
set-ups"). Set here, in the package's first module, it covers what tests/conftest.py imports.
The files go where Python puts them, in __pycache__ folders git ignores.
"""

import os
import sys

sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
