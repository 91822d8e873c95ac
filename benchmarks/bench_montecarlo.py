"""Monte-Carlo tap probabilities: numba kernels against numpy-vectorized versions of the same problem.

Problem: 10,000 paths, 14 levels (7 above and 7 below spot, 0.25..2 sd), analytic normal
quantiles, ``n_steps`` in 5 / 15 / 60 / 390. Both sides draw the same random numbers (the same
seed-spawning scheme as :mod:`mes_assets.kernels.montecarlo`), and each numpy version is checked to
reproduce the kernel's numbers before it is timed, so each row compares one estimator in two
implementations, end to end (draws, terminal sampler, estimator, Wilson interval, percentiles).
Every row's two timings come from the same process, one after the other.

Rows:

* conditional estimator (the default): numba vs the same estimator in numpy/scipy
  (``np.exp``, ``scipy.special.erfcx``, ``np.quantile``), per ``n_steps`` (it does not depend on it);
* step-by-step bridge paths (``method="paths"``): numba vs numpy, per ``n_steps``;
* the default numba call vs the numpy step-by-step bridge at native frequency (same ``tap_prob``,
  ``path_var95`` and touch-time estimands: the vectorized-numpy implementation of the problem,
  the headline ratio; the speed-up comes from the mathematics and from numba);
* one MES partition: three horizons (5/15/60 steps) in one process, target < 50 ms, against the
  numpy conditional estimator and against the numpy step-by-step bridge (partition totals);
* cold start in a fresh interpreter (import + first call), with the numba cache warm (target < 1 s;
  median of 7 runs, after one run that fills the cache) and with an empty cache
  (``NUMBA_CACHE_DIR`` set to a new temporary directory).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import NormalDist

import numpy as np
from scipy.special import erfcx

from benchmarks._table import BenchRow, best_of
from mes_assets.kernels import montecarlo as mc
from mes_assets.kernels.montecarlo import tap_probabilities

__all__ = ["run"]

N_PATHS = 10_000
SPOT = 5_000.0  # analytic MES-like scale, price units
SIGMA = 1.2  # price units per sqrt(minute), analytic
SEED = 123
STEPS = (5, 15, 60, 390)
PARTITION_STEPS = (5, 15, 60)  # 5/15/60-minute horizons at 1-minute bars
PROBS = np.asarray(mc.DEFAULT_QUANTILE_PROBS)
_Z95 = 1.959963984540054


def problem(n_steps: int) -> dict[str, object]:
    """Analytic inputs for a horizon of ``n_steps`` one-minute bars (normal quantiles, slight drift)."""
    horizon = float(n_steps)
    sd = SIGMA * np.sqrt(horizon)
    z = np.array([NormalDist().inv_cdf(float(p)) for p in PROBS])
    quantiles = SPOT + 0.05 * horizon + sd * z
    offsets = np.linspace(0.25, 2.0, 7) * sd
    levels = np.concatenate([SPOT + offsets, SPOT - offsets])
    return {
        "spot": SPOT,
        "levels": levels,
        "terminal_quantiles": quantiles,
        "sigma": SIGMA,
        "horizon": horizon,
        "n_steps": n_steps,
        "n_paths": N_PATHS,
        "seed": SEED,
    }


# ---------------------------------------------------------------------------------------------
# numpy versions of the same estimators (same draws)
# ---------------------------------------------------------------------------------------------
def _np_common(p: dict[str, object]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.random.Generator]]:
    seq = np.random.SeedSequence(int(p["seed"]))  # type: ignore[call-overload]
    rngs = [np.random.default_rng(s) for s in seq.spawn(4)]
    qk = np.asarray(p["terminal_quantiles"], dtype=np.float64)
    zk = np.array([NormalDist().inv_cdf(float(x)) for x in PROBS])
    z = rngs[0].standard_normal(int(p["n_paths"]))  # type: ignore[call-overload]
    x = np.interp(z, zk, qk)
    lo, hi = z < zk[0], z > zk[-1]
    x[lo] = qk[0] + (z[lo] - zk[0]) * (qk[1] - qk[0]) / (zk[1] - zk[0])
    x[hi] = qk[-1] + (z[hi] - zk[-1]) * (qk[-1] - qk[-2]) / (zk[-1] - zk[-2])
    dist = np.asarray(p["levels"], dtype=np.float64) - float(p["spot"])  # type: ignore[arg-type]
    return x - float(p["spot"]), dist, zk, rngs  # type: ignore[arg-type]


def _np_finish(
    dist: np.ndarray,
    weight: np.ndarray,
    tsum: np.ndarray,
    adv_up: np.ndarray,
    adv_dn: np.ndarray,
    n: int,
    horizon: float,
) -> dict[str, np.ndarray]:
    tap = np.minimum(weight / n, 1.0)
    touched = (weight > 0) & (tap > 0)
    exp_time = np.where(touched, np.clip(tsum / np.where(touched, weight, 1.0), 0.0, horizon), np.nan)
    var95 = np.where(dist < 0, np.quantile(adv_dn, 0.95), np.quantile(adv_up, 0.95))
    z2n = _Z95 * _Z95 / n
    centre = (tap + 0.5 * z2n) / (1 + z2n)
    half = _Z95 * np.sqrt(tap * (1 - tap) / n + 0.25 * z2n / n) / (1 + z2n)
    return {
        "tap_prob": tap,
        "ci_low": np.minimum(np.clip(centre - half, 0, 1), tap),
        "ci_high": np.maximum(np.clip(centre + half, 0, 1), tap),
        "exp_time_to_touch": exp_time,
        "path_var95": var95,
    }


def numpy_conditional(p: dict[str, object]) -> dict[str, np.ndarray]:
    """Conditional Monte-Carlo (exact bridge crossing probability, closed-form E[tau | X_T, touch]), vectorized."""
    y, dist, _, rngs = _np_common(p)
    n = int(p["n_paths"])  # type: ignore[call-overload]
    sigma, horizon = float(p["sigma"]), float(p["horizon"])  # type: ignore[arg-type]
    e_ext = rngs[1].standard_exponential(n)
    var_t = sigma * sigma * horizon
    w = np.sqrt(y * y + 2.0 * var_t * e_ext)
    adv_up, adv_dn = 0.5 * (w - y), 0.5 * (w + y)
    d = np.abs(dist)[None, :]
    gap = d - np.sign(dist)[None, :] * y[:, None]
    prob = np.exp(-(2.0 * d / var_t) * np.maximum(gap, 0.0))
    c = 1.0 / (sigma * np.sqrt(2.0 * horizon))
    weighted_time = (prob * erfcx((d + np.abs(gap)) * c)).sum(axis=0) * (horizon * np.sqrt(np.pi) * c * d[0])
    return _np_finish(dist, prob.sum(axis=0), weighted_time, adv_up, adv_dn, n, horizon)


def numpy_paths(p: dict[str, object]) -> dict[str, np.ndarray]:
    """Step-by-step Brownian bridge with exact between-step extremes, vectorized per chunk of paths."""
    y, dist, _, rngs = _np_common(p)
    n, steps = int(p["n_paths"]), int(p["n_steps"])  # type: ignore[call-overload]
    sigma, horizon = float(p["sigma"]), float(p["horizon"])  # type: ignore[arg-type]
    dt = horizon / steps
    sd = sigma * np.sqrt(dt)
    chunk = max(1, mc._CHUNK_ELEMENTS // steps)
    hits = np.zeros(dist.size)
    tsum = np.zeros(dist.size)
    adv_up, adv_dn = np.empty(n), np.empty(n)
    k1 = np.arange(1, steps + 1, dtype=np.float64)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        z = rngs[2].standard_normal((stop - start, steps))
        v = 1.0 - rngs[3].random((stop - start, steps))
        walk = np.cumsum(z, axis=1)
        pull = (y[start:stop] - sd * walk[:, -1]) / steps
        x = sd * walk + k1[None, :] * pull[:, None]
        x[:, -1] = y[start:stop]
        x_prev = np.concatenate([np.zeros((stop - start, 1)), x[:, :-1]], axis=1)
        dx = x - x_prev
        w = np.sqrt(dx * dx - 2.0 * sigma * sigma * dt * np.log(v))
        run_max = np.maximum(np.maximum.accumulate(0.5 * (x_prev + x + w), axis=1), 0.0)
        run_min = np.minimum(np.minimum.accumulate(0.5 * (x_prev + x - w), axis=1), 0.0)
        adv_up[start:stop], adv_dn[start:stop] = -run_min[:, -1], run_max[:, -1]
        for i, d in enumerate(dist):
            crossed = run_max >= d if d > 0 else run_min <= d
            hit = crossed[:, -1]
            first = np.argmax(crossed, axis=1)
            hits[i] += hit.sum()
            tsum[i] += ((first[hit] + 0.5) * dt).sum()
    return _np_finish(dist, hits, tsum, adv_up, adv_dn, n, horizon)


def _check_same(kernel: mc.TapResult, numpy_out: dict[str, np.ndarray], what: str) -> None:
    for name, ref in numpy_out.items():
        got = getattr(kernel, name)
        if not np.allclose(got, ref, rtol=1e-9, atol=1e-12, equal_nan=True):
            raise AssertionError(f"{what}: numpy and numba disagree on {name}: {got} vs {ref}")


# ---------------------------------------------------------------------------------------------
# cold start
# ---------------------------------------------------------------------------------------------
_COLD = (
    "import time; t=time.perf_counter(); "
    "from mes_assets.kernels.montecarlo import tap_probabilities; "
    "tap_probabilities(spot=5000.0, levels=[5001.0, 5003.0, 4998.0], "
    "terminal_quantiles=[4996.0, 4998.0, 5000.0, 5002.0, 5004.0], sigma=1.2, horizon=5.0, n_steps=5); "
    "print(time.perf_counter()-t)"
)


def _cold_start(cache_dir: str | None) -> float:
    env = dict(os.environ)
    env.pop("MES_DISABLE_NUMBA", None)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", _COLD], env=env, cwd=root, capture_output=True, text=True, check=True, timeout=300
    )
    return float(out.stdout.strip().splitlines()[-1])


def run() -> list[BenchRow]:
    rows: list[BenchRow] = []
    numpy_paths_s: dict[int, float] = {}
    cond_s: dict[int, float] = {}
    for steps in STEPS:
        p = problem(steps)
        tap_probabilities(**p)  # compile / load
        _check_same(tap_probabilities(**p), numpy_conditional(p), f"conditional, {steps} steps")
        cond_s[steps] = best_of(lambda p=p: tap_probabilities(**p))
        base = best_of(lambda p=p: numpy_conditional(p))
        rows.append(
            BenchRow(
                "tap_probabilities (conditional)",
                f"10k paths x 14 levels, {steps} steps",
                cond_s[steps],
                "numpy conditional",
                base,
                "same estimator, same draws; n_steps-independent",
            )  # fmt: skip
        )
    for steps in STEPS:
        p = problem(steps)
        _check_same(tap_probabilities(**p, method="paths"), numpy_paths(p), f"paths, {steps} steps")
        kern = best_of(lambda p=p: tap_probabilities(**p, method="paths"), repeats=3)
        numpy_paths_s[steps] = best_of(lambda p=p: numpy_paths(p), repeats=3)
        rows.append(
            BenchRow(
                "tap_probabilities (method=paths)",
                f"10k paths x 14 levels, {steps} steps",
                kern,
                "numpy step-by-step bridge",
                numpy_paths_s[steps],
                "same estimator, same draws",
            )  # fmt: skip
        )
    for steps in STEPS:
        rows.append(
            BenchRow(
                "tap_probabilities (conditional)",
                f"10k paths x 14 levels, {steps} steps",
                cond_s[steps],
                "numpy step-by-step bridge",
                numpy_paths_s[steps],
                "same tap_prob and path_var95 estimands; maths+numba",
            )  # fmt: skip
        )
    parts = [problem(s) for s in PARTITION_STEPS]
    part_s = best_of(lambda: [tap_probabilities(**p) for p in parts])
    part_np = best_of(lambda: [numpy_conditional(p) for p in parts])
    part_np_paths = best_of(lambda: [numpy_paths(p) for p in parts], repeats=3)
    target = f"target < 50 ms: {'met' if part_s < 0.05 else 'MISSED'}"
    rows.append(
        BenchRow(
            "MES partition (conditional)",
            "3 horizons 5/15/60 steps, 10k paths x 14 levels",
            part_s,
            "numpy conditional (3 horizons)",
            part_np,
            f"{target}; same estimator",
        )  # fmt: skip
    )
    rows.append(
        BenchRow(
            "MES partition (conditional)",
            "3 horizons 5/15/60 steps, 10k paths x 14 levels",
            part_s,
            "numpy step-by-step bridge (3 horizons)",
            part_np_paths,
            f"{target}; same tap_prob and path_var95 estimands",
        )  # fmt: skip
    )
    _cold_start(None)  # make sure the on-disk cache is populated
    warm_runs = sorted(_cold_start(None) for _ in range(7))
    warm = warm_runs[len(warm_runs) // 2]
    spread = f"runs {warm_runs[0]:.2f}-{warm_runs[-1]:.2f} s"
    rows.append(
        BenchRow(
            "cold start, warm numba cache",
            "fresh interpreter: import + first call (median of 7)",
            warm,
            "-",
            None,
            f"target < 1 s: {'met' if warm < 1.0 else 'MISSED'}; {spread}",
        )  # fmt: skip
    )
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as tmp:
        empty = _cold_start(tmp)
    rows.append(
        BenchRow(
            "cold start, empty numba cache",
            "fresh interpreter: import + compile + first call",
            empty,
            "-",
            None,
            "NUMBA_CACHE_DIR = new temp dir",
        )  # fmt: skip
    )
    return rows
