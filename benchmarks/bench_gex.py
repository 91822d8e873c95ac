"""GEX surface and Black-76 kernels against numpy, scipy and QuantLib baselines in the same process.

Problems (analytic inputs, not market data):

* surface: 3 expiries (7, 30, 60 days) x 400 strikes (every 10 points, 4000..7990) x call and put
  (2,400 option rows; a call and a put share their strike's IV, so the kernel merges them into
  1,200 gamma rows) x 401 grid points (0.8..1.2 F). Warm (compiled) timings.
* Black-76 gamma and implied vol on 1e6 random inputs; QuantLib is a per-option Python loop, timed
  on a sample and scaled linearly to the full size.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

from benchmarks._table import BenchRow, best_of
from mes_assets.kernels import black76, gex

_F0 = 6000.0
_RATE = 0.04


def _chain() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20240601)
    t = np.array([7.0, 30.0, 60.0]) / 365.0
    fwd = np.array([6000.0, 6012.0, 6025.0])
    strikes = np.arange(4000.0, 8000.0, 10.0)  # 400
    k = np.tile(np.repeat(strikes, 2), 3)
    calls = np.tile(np.array([True, False] * strikes.size), 3)
    e = np.repeat(np.arange(3), 2 * strikes.size)
    x = np.log(k / fwd[e])
    iv = 0.15 - 0.25 * x + 0.6 * x * x
    oi = rng.integers(0, 20_000, k.size).astype(np.float64)
    return {"t": t, "fwd": fwd, "k": k, "calls": calls, "e": e, "iv": iv, "oi": oi}


def _numpy_surface(grid, fwd, t, e, k, sign_oi_mult, iv):
    """Vectorised numpy: (rows x grid) Black-76 gammas per expiry, dollars per 1% move."""
    out = np.empty((fwd.size, grid.size))
    for ee in range(fwd.size):
        m = e == ee
        u = grid[None, :] * (fwd[ee] / _F0)
        s = (iv[m] * math.sqrt(t[ee]))[:, None]
        d1 = np.log(u / k[m][:, None]) / s + 0.5 * s
        gam = math.exp(-_RATE * t[ee]) * np.exp(-0.5 * d1 * d1) / (math.sqrt(2.0 * math.pi) * u * s)
        out[ee] = (gam * sign_oi_mult[m][:, None] * u * u * 0.01).sum(axis=0)
    return out


def _surface_rows() -> list[BenchRow]:
    c = _chain()
    grid = gex.price_grid(_F0, n=401)
    sign_oi_mult = gex.dealer_sign(c["calls"]) * c["oi"] * 50.0

    def kernel_call() -> gex.GexSurface:
        return gex.gex_surface(grid, _F0, c["fwd"], c["t"], _RATE, c["e"], c["k"], c["calls"], c["oi"], c["iv"], 50.0)

    def numpy_call() -> np.ndarray:
        return _numpy_surface(grid, c["fwd"], c["t"], c["e"], c["k"], sign_oi_mult, c["iv"])

    surf = kernel_call()  # compile / load the cache
    ref = numpy_call()
    rel = float(np.max(np.abs(surf.per_expiry - ref)) / np.max(np.abs(ref)))
    kernel_s = best_of(kernel_call, repeats=20)
    numpy_s = best_of(numpy_call, repeats=5)

    # same arithmetic: the bare kernel and numpy on the merged 1,200 rows (call + put per strike)
    merged = c["calls"]  # one row per strike: the call row's position
    e_m, k_m, iv_m = c["e"][merged], c["k"][merged], c["iv"][merged]
    net = (sign_oi_mult[merged] + sign_oi_mult[~merged]).astype(np.float64)
    s_m = iv_m * np.sqrt(c["t"][e_m])
    coef = 0.01 * np.exp(-_RATE * c["t"][e_m]) * net / (math.sqrt(2.0 * math.pi) * s_m)
    scale = c["fwd"] / _F0
    out = np.empty((3, grid.size))
    args = (np.log(grid), grid, np.log(scale), scale, e_m.astype(np.int64), np.log(k_m), s_m, coef, out)
    gex._surface_kernel(*args)
    bare_s = best_of(lambda: gex._surface_kernel(*args), repeats=20)
    numpy_merged_s = best_of(lambda: _numpy_surface(grid, c["fwd"], c["t"], e_m, k_m, net, iv_m), repeats=5)
    np.testing.assert_allclose(out, ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max())
    problem = "3 exp x 400 strikes x C/P x 401 grid"
    return [
        BenchRow(
            "gex_surface (numba, warm)",
            problem,
            kernel_s,
            "numpy vectorised, 2,400 rows",
            numpy_s,
            f"public call incl. validation and C/P merge; max rel diff {rel:.1e}; target < 5 ms",
        ),
        BenchRow(
            "_surface_kernel (numba, warm)",
            "3 exp x 1,200 merged rows x 401 grid",
            bare_s,
            "numpy vectorised, same 1,200 rows",
            numpy_merged_s,
            "same arithmetic, one exp per row x grid point",
        ),
    ]


def _black76_rows() -> list[BenchRow]:
    import QuantLib as ql

    rng = np.random.default_rng(7)
    n = 1_000_000
    f = rng.uniform(4000.0, 7000.0, n)
    k = f * np.exp(rng.normal(0.0, 0.1, n))
    t = rng.uniform(1.0 / 365.0, 0.5, n)
    r = np.full(n, _RATE)
    sig = rng.uniform(0.1, 0.4, n)

    black76.gamma(f[:10], k[:10], t[:10], r[:10], sig[:10])  # compile / load the cache
    kernel_s = best_of(lambda: black76.gamma(f, k, t, r, sig), repeats=5)

    def numpy_gamma() -> np.ndarray:
        s = sig * np.sqrt(t)
        d1 = np.log(f / k) / s + 0.5 * s
        return np.exp(-r * t - 0.5 * d1 * d1) / (math.sqrt(2.0 * math.pi) * f * s)

    def scipy_gamma() -> np.ndarray:
        s = sig * np.sqrt(t)
        d1 = np.log(f / k) / s + 0.5 * s
        return np.exp(-r * t) * norm.pdf(d1) / (f * s)

    np.testing.assert_allclose(black76.gamma(f, k, t, r, sig), numpy_gamma(), rtol=1e-12)
    numpy_s = best_of(numpy_gamma, repeats=5)
    scipy_s = best_of(scipy_gamma, repeats=3)

    sample = 20_000
    std = sig[:sample] * np.sqrt(t[:sample])
    disc = np.exp(-r[:sample] * t[:sample])

    def ql_gamma() -> None:
        for i in range(sample):
            payoff = ql.PlainVanillaPayoff(ql.Option.Call, float(k[i]))
            ql.BlackCalculator(payoff, float(f[i]), float(std[i]), float(disc[i])).gammaForward()

    ql_s = best_of(ql_gamma, repeats=2) * (n / sample)

    # implied vol: 1e6 premiums back to vols, against QuantLib's solver per option
    calls = rng.random(n) < 0.5
    prem = black76.price(f, k, t, r, sig, calls)
    black76.implied_vol(prem[:10], f[:10], k[:10], t[:10], r[:10], calls[:10])
    iv_s = best_of(lambda: black76.implied_vol(prem, f, k, t, r, calls), repeats=3)
    iv, status = black76.implied_vol(prem, f, k, t, r, calls)
    ok = status == black76.IV_OK
    iv_err = float(np.max(np.abs(iv[ok] - sig[ok])))
    iv_sample = 5_000

    def ql_iv() -> None:
        for i in range(iv_sample):
            opt = ql.Option.Call if calls[i] else ql.Option.Put
            args = (float(k[i]), float(f[i]), float(prem[i]), float(disc[i]), 0.0, 0.2, 1e-12, 1000)
            ql.blackFormulaImpliedStdDev(opt, *args)

    ql_iv_s = best_of(ql_iv, repeats=2) * (n / iv_sample)
    return [
        BenchRow("black76.gamma (numba)", "1e6 options", kernel_s, "numpy (np.exp)", numpy_s, ""),
        BenchRow("black76.gamma (numba)", "1e6 options", kernel_s, "scipy.stats.norm.pdf", scipy_s, ""),
        BenchRow(
            "black76.gamma (numba)",
            "1e6 options",
            kernel_s,
            "QuantLib BlackCalculator loop",
            ql_s,
            f"QuantLib timed on {sample:,}, scaled",
        ),
        BenchRow(
            "black76.implied_vol (numba)",
            "1e6 premiums",
            iv_s,
            "QuantLib blackFormulaImpliedStdDev loop",
            ql_iv_s,
            f"QuantLib timed on {iv_sample:,}, scaled; {int(ok.sum()):,} ok, max |iv - sigma| {iv_err:.1e}",
        ),
    ]


def run() -> list[BenchRow]:
    """Surface and Black-76 rows (see the module docstring)."""
    return _surface_rows() + _black76_rows()
