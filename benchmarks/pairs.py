"""Interleaved A/B measurement shared by the benchmark scripts (issue #10).

The machine is shared and noisy, so a ratio is never taken between two series run one after
the other: each pair runs A and B back to back (A B, then B A, alternating, so that neither
side always runs first), after a warm-up, and the figure is the median of the per-pair ratios
B/A, with their min and max and each side's own median::

    from pairs import interleave, emit

    result = interleave(bare, product, pairs=15, warmup=2)
    emit({"startup": result})

A side is a callable that runs one sample and returns what it measured, in seconds (its own
timing, so that setup can stay outside it); :func:`timed` makes one from a plain callable.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

MIN_PAIRS = 15
#: The tree these scripts live in: its code is what they measure.
ROOT = Path(__file__).resolve().parent.parent


def timed(action: Callable[[], object]) -> Callable[[], float]:
    """A side that times ``action`` as a whole (wall clock)."""

    def run() -> float:
        start = time.perf_counter()
        action()
        return time.perf_counter() - start

    return run


def interleave(
    a: Callable[[], float],
    b: Callable[[], float],
    *,
    pairs: int = MIN_PAIRS,
    warmup: int = 2,
    label: str = "",
) -> dict[str, Any]:
    """Run ``warmup`` unmeasured pairs, then ``pairs`` measured ones, alternating which side
    goes first; return the per-pair ratio B/A (median, min, max) and each side's median, min
    and max in milliseconds."""
    if pairs < MIN_PAIRS:
        raise ValueError(f"at least {MIN_PAIRS} pairs (issue #10), not {pairs}")
    for i in range(warmup):
        _pair(a, b, i)
    a_samples: list[float] = []
    b_samples: list[float] = []
    for i in range(pairs):
        sa, sb = _pair(a, b, i)
        a_samples.append(sa)
        b_samples.append(sb)
        if label:
            print(
                f"{label}: pair {i + 1}/{pairs}  A {sa * 1000:.2f} ms  B {sb * 1000:.2f} ms  "
                f"B/A {sb / sa:.2f}",
                file=sys.stderr,
            )
    return summary(a_samples, b_samples)


def _pair(a: Callable[[], float], b: Callable[[], float], i: int) -> tuple[float, float]:
    if i % 2 == 0:
        sa = a()
        sb = b()
    else:
        sb = b()
        sa = a()
    return sa, sb


def summary(a_samples: list[float], b_samples: list[float]) -> dict[str, Any]:
    """The figures of paired samples (seconds in, milliseconds out)."""
    ratios = [sb / sa for sa, sb in zip(a_samples, b_samples, strict=True)]
    return {
        "ratio": round(statistics.median(ratios), 2),
        "ratio_min": round(min(ratios), 2),
        "ratio_max": round(max(ratios), 2),
        "a_ms": ms(statistics.median(a_samples)),
        "a_ms_min": ms(min(a_samples)),
        "a_ms_max": ms(max(a_samples)),
        "b_ms": ms(statistics.median(b_samples)),
        "b_ms_min": ms(min(b_samples)),
        "b_ms_max": ms(max(b_samples)),
        "pairs": len(ratios),
    }


def spread(samples: list[float], scale: float = 1.0, digits: int = 2) -> dict[str, float]:
    """Median, min and max of plain samples (not a ratio), times ``scale``."""
    return {
        "median": round(statistics.median(samples) * scale, digits),
        "min": round(min(samples) * scale, digits),
        "max": round(max(samples) * scale, digits),
        "n": len(samples),
    }


def import_times(
    imports: dict[str, str], env: dict[str, str], rounds: int, warmup: int
) -> dict[str, dict[str, float]]:
    """Each of ``imports`` (name: Python code) alone as a whole process with this interpreter,
    the kinds taking turns (round-robin) after ``warmup`` rounds: the median (min-max) ms of
    each, to read a start-up ratio by."""
    import subprocess

    samples: dict[str, list[float]] = {name: [] for name in imports}
    for i in range(warmup + rounds):
        for name, code in imports.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], env=env, check=True)
            if i >= warmup:
                samples[name].append(time.perf_counter() - start)
    return {name: spread(times, scale=1000, digits=1) for name, times in samples.items()}


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3 if seconds < 0.01 else 1)


def emit(result: dict[str, Any], rows: list[tuple[str, str, str]] | None = None) -> None:
    """Print ``result`` as one JSON line on stdout and, when given, a table of
    (figure, measured, target) on stderr."""
    if rows:
        width = max(len(r[0]) for r in rows)
        mid = max(len(r[1]) for r in rows)
        for name, value, target in rows:
            print(f"{name:<{width}}  {value:<{mid}}  {target}", file=sys.stderr)
    print(json.dumps(result), flush=True)


def ratio_text(figure: dict[str, Any]) -> str:
    """``2.41 (2.10-2.90)``: a ratio's median and range, for the table."""
    return f"{figure['ratio']:.2f} ({figure['ratio_min']:.2f}-{figure['ratio_max']:.2f})"


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a measured process: this tree's code first on the path (so that
    a copy of the repository, e.g. a worktree of an older commit, measures its own code
    through the same installed console script), no database or configuration inherited."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), **extra)
    env.pop("MONITOR_DB", None)
    env.pop("MONITOR_CONFIG", None)
    # An installed product runs from compiled bytecode; a machine that says
    # PYTHONDONTWRITEBYTECODE (this one does) would otherwise compile the project's sources
    # anew in every measured process, a cost no user pays.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    compile_tree()
    return env


def compile_tree() -> None:
    """Write the project's bytecode once, as an installation does."""
    import compileall

    for package in ("monitor", "tui", "migrations"):
        compileall.compile_dir(str(ROOT / package), quiet=1)
