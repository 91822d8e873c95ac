"""numba start-up per kernel family: a fresh interpreter with an empty cache and with a filled cache.

Each measurement is a new ``python -c`` subprocess (as the cold-start rows of
:mod:`benchmarks.bench_montecarlo`) with ``NUMBA_CACHE_DIR`` pointing at a new temporary directory:
the first run finds it empty (every kernel is type-inferred, compiled by LLVM and written to the
cache); the next runs, against the same directory, load the compiled code from it. The repository's
own ``__pycache__`` numba cache is therefore never read nor written. ``MES_DISABLE_NUMBA`` is removed
from the child's environment.

Inside the child, in this order (each step timed separately, ``time.perf_counter``):

1. ``import numpy, numba`` (what every family needs; numba's one-off LLVM/target set-up is NOT
   here, it happens at the first compile or cache load, so it lands in the first family, ATR);
2. per family, importing its module and making the first call on tiny analytic inputs (a handful
   of bars or options; the call is there to trigger compilation, not to do work):

   * ``atr``: ``wilder_atr`` on 40 bars;
   * ``zigzag``: ``zigzag`` on the same 40 bars;
   * ``montecarlo``: ``tap_probabilities`` default (conditional) call, the input of
     ``bench_montecarlo``'s cold-start row;
   * ``black76``: ``price``, ``gamma`` and ``implied_vol`` on 4 options;
   * ``gex``: ``gex_surface``, ``zero_gamma`` and ``gamma_walls`` on a 4-row chain, 41 grid points;
   * ``hmm``: ``fit_em`` on 120 analytic two-regime observations.

Rows (no baseline): one per family with the empty-cache time and, in the note, the warm-cache
median of 5 runs (after the empty-cache run); then the totals (import + all families) for both.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks._table import BenchRow

__all__ = ["FAMILIES", "SCRIPT", "WARM_RUNS", "run", "startup_times"]

WARM_RUNS = 5

_PRELUDE = """
import json, time
t = time.perf_counter()
import numpy as np
import numba
out = {"import numpy + numba": time.perf_counter() - t}
h = 5000.0 + np.cumsum(np.tile([1.0, 2.0, -1.5, 0.5, -3.0, 2.5, 1.0, -2.0], 5))
lo = h - 1.0
c = h - 0.5
"""

#: ``(family, code)``: the code imports the family's module and makes its first calls.
FAMILIES: tuple[tuple[str, str], ...] = (
    (
        "atr",
        """
from mes_assets.kernels.atr import wilder_atr
atr = wilder_atr(h, lo, c, 14)
""",
    ),
    (
        "zigzag",
        """
from mes_assets.kernels.zigzag import zigzag
zigzag(c, atr, 3.0)
""",
    ),
    (
        "montecarlo",
        """
from mes_assets.kernels.montecarlo import tap_probabilities
tap_probabilities(spot=5000.0, levels=[5001.0, 5003.0, 4998.0],
                  terminal_quantiles=[4996.0, 4998.0, 5000.0, 5002.0, 5004.0], sigma=1.2, horizon=5.0, n_steps=5)
""",
    ),
    (
        "black76",
        """
from mes_assets.kernels import black76
F = np.full(4, 6000.0); K = np.array([5800.0, 5900.0, 6100.0, 6200.0]); T = np.full(4, 0.1)
r = np.full(4, 0.04); s = np.full(4, 0.2); calls = np.array([False, False, True, True])
black76.gamma(F, K, T, r, s)
black76.implied_vol(black76.price(F, K, T, r, s, calls), F, K, T, r, calls)
""",
    ),
    (
        "gex",
        """
from mes_assets.kernels import gex
grid = gex.price_grid(6000.0, n=41)
K = np.array([5800.0, 5900.0, 6100.0, 6200.0]); oi = np.array([900.0, 300.0, 400.0, 1000.0])
surf = gex.gex_surface(grid, 6000.0, [6000.0], [0.1], 0.04, np.zeros(4, dtype=np.int64), K,
                       np.array([False, False, True, True]), oi, np.full(4, 0.2), 50.0)
gex.zero_gamma(grid, surf.combined, 6000.0)
gex.gamma_walls(grid, surf.combined, K, oi)
""",
    ),
    (
        "hmm",
        """
from mes_assets.kernels.hmm import fit_em
z = np.r_[np.sin(np.arange(60.0)), 3.0 + np.cos(np.arange(60.0))]
fit_em(z)
""",
    ),
)

SCRIPT = (
    _PRELUDE
    + "".join(
        f"t = time.perf_counter()\n{code.strip()}\nout[{name!r}] = time.perf_counter() - t\n" for name, code in FAMILIES
    )
    + "print(json.dumps(out))\n"
)
"""The child's program; prints ``{step: seconds}`` as JSON on its last line."""


def startup_times(cache_dir: str | None, *, disable_numba: bool = False, timeout: float = 600) -> dict[str, float]:
    """Run :data:`SCRIPT` in a fresh interpreter; ``{step: seconds}``.

    ``cache_dir`` becomes ``NUMBA_CACHE_DIR`` (``None``: the default, beside the sources).
    ``disable_numba`` sets ``MES_DISABLE_NUMBA=1`` (plain Python, nothing compiled: a quick check
    that the script still runs).
    """
    env = dict(os.environ)
    env.pop("MES_DISABLE_NUMBA", None)
    env.pop("NUMBA_CACHE_DIR", None)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    if disable_numba:
        env["MES_DISABLE_NUMBA"] = "1"
    root = Path(__file__).resolve().parents[1]
    res = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, cwd=root, capture_output=True, text=True, timeout=timeout
    )
    if res.returncode != 0:
        raise RuntimeError(f"start-up script failed ({res.returncode}):\n{res.stderr[-4000:]}")
    return {k: float(v) for k, v in json.loads(res.stdout.strip().splitlines()[-1]).items()}


def run() -> list[BenchRow]:
    """Start-up rows (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as tmp:
        empty = startup_times(tmp)
        warm_runs = [startup_times(tmp) for _ in range(WARM_RUNS)]
    warm = {k: statistics.median(r[k] for r in warm_runs) for k in empty}
    rows = []
    for name in empty:
        first = " (+ numba's one-off LLVM set-up)" if name == FAMILIES[0][0] else ""
        rows.append(
            BenchRow(
                f"start-up: {name}",
                f"fresh interpreter, empty numba cache: import + first call{first}"
                if name != "import numpy + numba"
                else "fresh interpreter (empty-cache run)",
                empty[name],
                "-",
                None,
                f"warm cache: {warm[name] * 1e3:.0f} ms (median of {WARM_RUNS})",
            )  # fmt: skip
        )
    totals = sorted(sum(r.values()) for r in warm_runs)
    rows.append(
        BenchRow(
            "start-up: all families",
            "fresh interpreter, empty numba cache (NUMBA_CACHE_DIR = new temp dir)",
            sum(empty.values()),
            "-",
            None,
            f"{len(FAMILIES)} families + imports",
        )  # fmt: skip
    )
    rows.append(
        BenchRow(
            "start-up: all families",
            f"fresh interpreter, warm numba cache (median of {WARM_RUNS})",
            statistics.median(totals),
            "-",
            None,
            f"runs {totals[0]:.2f}-{totals[-1]:.2f} s",
        )  # fmt: skip
    )
    return rows
