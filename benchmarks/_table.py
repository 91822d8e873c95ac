"""The one row type every benchmark returns, and the table printer."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["BenchRow", "best_of", "machine_line", "print_table"]


@dataclass(frozen=True)
class BenchRow:
    """One measured comparison: ``kernel_s`` against ``baseline_s`` for the same problem."""

    kernel: str
    problem: str
    kernel_s: float
    baseline: str
    baseline_s: float | None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """How many times faster the kernel is than its baseline (None without a baseline)."""
        if self.baseline_s is None or self.kernel_s <= 0:
            return None
        return self.baseline_s / self.kernel_s


def best_of(func: Callable[[], object], repeats: int = 5) -> float:
    """Best wall time in seconds over ``repeats`` calls (the least-disturbed run)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return float(np.min(times))


def machine_line() -> str:
    """Where the figures were measured (cores matter: numba prange uses them all)."""
    import os

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def print_table(rows: Sequence[BenchRow]) -> None:
    """Print a Markdown table (pasteable into the README)."""
    print(f"Measured on: {machine_line()}\n")
    print("| kernel | problem | kernel time | baseline | baseline time | ratio | note |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        ratio = "-" if row.ratio is None else f"{row.ratio:.1f}x" if row.ratio >= 1 else f"{row.ratio:.3f}x"
        print(
            f"| {row.kernel} | {row.problem} | {_fmt_seconds(row.kernel_s)} | {row.baseline} | "
            f"{_fmt_seconds(row.baseline_s)} | {ratio} | {row.note} |"
        )
