"""The session detail: one patient's readings, checks, flags, gate and chart."""
