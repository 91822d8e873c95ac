"""Two-state Gaussian hidden Markov (Markov-switching) model: Hamilton filter, smoother, EM fit.

Model
-----
A hidden state ``s_t`` in {0, 1} follows a Markov chain with transition matrix
``P[i, j] = Pr(s_t = j | s_{t-1} = i)``; the chain starts from its ergodic (stationary)
distribution ``pi`` with ``pi P = pi``. Given ``s_t = j`` the observation vector ``z_t`` (``d``
components) is Gaussian with mean ``mu[j]`` and a *diagonal* covariance ``diag(var[j])``.
A missing component (NaN) is marginalised out — with a diagonal covariance that is simply dropping
its factor from the density — so a FRED holiday with no VIX still updates the regime from the
return alone, and a row with nothing observed is a pure prediction step. This is Hamilton's (1989,
*Econometrica* 57(2), "A new approach to the economic analysis of nonstationary time series")
regime-switching model with switching mean and variance.

* **Filter** (causal): ``xi_t|t = normalise(f(z_t | s) * (P' xi_{t-1|t-1}))`` — the regime
  probability using data up to and including ``t`` only. Its normalisers give the log-likelihood.
* **Smoother** (Kim 1994) uses the whole sample; it is only used inside EM on a training slice.
* **EM** (Baum-Welch): E-step = smoothed state and pair probabilities, M-step = weighted means and
  variances per observed component and the expected transition counts. Variances are floored at
  ``VAR_FLOOR`` times the component's sample variance so a state cannot collapse onto one point.

States are labelled after fitting so that state 1 has the larger mean of component
``order_by`` (e.g. the VIX level: state 1 = "stress").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mes_assets.kernels._numba import jit
from mes_assets.kernels.types import ArrayLike, FloatArray

__all__ = ["HmmParams", "ergodic", "fit_em", "hamilton_filter"]

VAR_FLOOR = 1e-3
_LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class HmmParams:
    """Fitted two-state model: ``mu``/``var`` shape ``(2, d)``, ``transition`` shape ``(2, 2)``."""

    mu: FloatArray
    var: FloatArray
    transition: FloatArray
    loglik: float
    n_iter: int
    converged: bool


def ergodic(transition: FloatArray) -> FloatArray:
    """Stationary distribution of a 2x2 transition matrix (``pi P = pi``)."""
    p01, p10 = float(transition[0, 1]), float(transition[1, 0])
    if p01 + p10 <= 0.0:
        return np.array([0.5, 0.5])
    return np.array([p10 / (p01 + p10), p01 / (p01 + p10)])


def _log_densities_py(z: FloatArray, mu: FloatArray, var: FloatArray) -> FloatArray:
    """log f(z_t | s = j), shape (n, 2); NaN components are skipped (marginalised)."""
    n, d = z.shape
    out = np.zeros((n, 2))
    for t in range(n):
        for j in range(2):
            acc = 0.0
            for c in range(d):
                x = z[t, c]
                if x == x:  # not NaN
                    acc += -0.5 * (_LOG_2PI + np.log(var[j, c]) + (x - mu[j, c]) ** 2 / var[j, c])
            out[t, j] = acc
    return out


def _forward_py(logf: FloatArray, transition: FloatArray, init: FloatArray) -> tuple[FloatArray, float]:
    """Scaled forward pass: filtered probabilities (n, 2) and the log-likelihood."""
    n = logf.shape[0]
    filt = np.empty((n, 2))
    loglik = 0.0
    prev0, prev1 = init[0], init[1]
    for t in range(n):
        if t == 0:
            pr0, pr1 = prev0, prev1
        else:
            pr0 = prev0 * transition[0, 0] + prev1 * transition[1, 0]
            pr1 = prev0 * transition[0, 1] + prev1 * transition[1, 1]
        m = max(logf[t, 0], logf[t, 1])
        a0 = pr0 * np.exp(logf[t, 0] - m)
        a1 = pr1 * np.exp(logf[t, 1] - m)
        s = a0 + a1
        loglik += np.log(s) + m
        prev0, prev1 = a0 / s, a1 / s
        filt[t, 0], filt[t, 1] = prev0, prev1
    return filt, loglik


def _backward_py(filt: FloatArray, transition: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Kim smoother: smoothed probabilities (n, 2) and summed pair probabilities (2, 2)."""
    n = filt.shape[0]
    smooth = np.empty((n, 2))
    pairs = np.zeros((2, 2))
    # Two scalar copies, not a row slice: numba took ~4 s to compile the slice assignment (bench_startup).
    smooth[n - 1, 0] = filt[n - 1, 0]
    smooth[n - 1, 1] = filt[n - 1, 1]
    for t in range(n - 2, -1, -1):
        pred0 = filt[t, 0] * transition[0, 0] + filt[t, 1] * transition[1, 0]
        pred1 = filt[t, 0] * transition[0, 1] + filt[t, 1] * transition[1, 1]
        r0 = smooth[t + 1, 0] / pred0 if pred0 > 0 else 0.0
        r1 = smooth[t + 1, 1] / pred1 if pred1 > 0 else 0.0
        for i in range(2):
            w0 = filt[t, i] * transition[i, 0] * r0
            w1 = filt[t, i] * transition[i, 1] * r1
            pairs[i, 0] += w0
            pairs[i, 1] += w1
            smooth[t, i] = w0 + w1
    return smooth, pairs


_log_densities = jit(_log_densities_py)
_forward = jit(_forward_py)
_backward = jit(_backward_py)


def _as_obs(z: ArrayLike) -> FloatArray:
    arr = np.ascontiguousarray(np.asarray(z, dtype=np.float64))
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] < 1:
        raise ValueError(f"observations must be (n, d) with n >= 1, got shape {arr.shape}")
    if np.any(np.isinf(arr)):
        raise ValueError("observations must be finite or NaN (missing)")
    return arr


def hamilton_filter(z: ArrayLike, mu: ArrayLike, var: ArrayLike, transition: ArrayLike) -> tuple[FloatArray, float]:
    """Filtered regime probabilities ``Pr(s_t = j | z_1..z_t)``, shape ``(n, 2)``, and log-likelihood.

    Causal: row ``t`` uses rows ``0..t`` only. Starts from the ergodic distribution.
    """
    obs = _as_obs(z)
    mu_a = np.ascontiguousarray(mu, dtype=np.float64)
    var_a = np.ascontiguousarray(var, dtype=np.float64)
    trans = np.ascontiguousarray(transition, dtype=np.float64)
    if np.any(var_a <= 0):
        raise ValueError("variances must be positive")
    logf = _log_densities(obs, mu_a, var_a)
    filt, loglik = _forward(logf, trans, ergodic(trans))
    return filt, float(loglik)


def fit_em(z: ArrayLike, *, order_by: int = 0, max_iter: int = 500, tol: float = 1e-8) -> HmmParams:
    """Maximum-likelihood two-state fit by EM (module docstring).

    Parameters
    ----------
    z
        ``(n, d)`` observations (NaN = missing component); every component needs >= 10 values.
    order_by
        Component whose state means define the labels (state 1 = larger mean).
    max_iter, tol
        Stop when the log-likelihood improves by less than ``tol`` (absolute) or after
        ``max_iter`` iterations (``converged`` False).

    Initialisation is deterministic: states split at the median of component ``order_by``,
    persistent transitions (0.95 on the diagonal).
    """
    obs = _as_obs(z)
    n, d = obs.shape
    seen = ~np.isnan(obs)
    if np.any(seen.sum(axis=0) < 10):
        raise ValueError("every observation component needs at least 10 non-missing values")
    key = obs[:, order_by]
    high = np.where(seen[:, order_by], key > np.nanmedian(key), False)
    floor = VAR_FLOOR * np.nanvar(obs, axis=0)
    mu = np.empty((2, d))
    var = np.empty((2, d))
    for j, mask in enumerate((~high, high)):
        mu[j] = np.nanmean(obs[mask], axis=0)
        var[j] = np.maximum(np.nanvar(obs[mask], axis=0), floor)
    trans = np.array([[0.95, 0.05], [0.05, 0.95]])
    filled = np.where(seen, obs, 0.0)
    loglik, converged, it = -np.inf, False, 0
    for it in range(1, max_iter + 1):  # noqa: B007 - `it` (iterations run) is reported after the loop
        logf = _log_densities(obs, mu, var)
        filt, new_ll = _forward(logf, trans, ergodic(trans))
        smooth, pairs = _backward(filt, trans)
        for j in range(2):
            w = smooth[:, j][:, None] * seen
            wsum = np.maximum(w.sum(axis=0), 1e-300)
            mu[j] = (w * filled).sum(axis=0) / wsum
            var[j] = np.maximum((w * np.where(seen, (obs - mu[j]) ** 2, 0.0)).sum(axis=0) / wsum, floor)
        rows = pairs.sum(axis=1, keepdims=True)
        trans = np.where(rows > 0, pairs / np.maximum(rows, 1e-300), 0.5)
        if abs(new_ll - loglik) < tol:
            loglik, converged = new_ll, True
            break
        loglik = new_ll
    _, loglik = _forward(_log_densities(obs, mu, var), trans, ergodic(trans))
    if mu[0, order_by] > mu[1, order_by]:
        mu, var, trans = mu[::-1].copy(), var[::-1].copy(), trans[::-1, ::-1].copy()
    return HmmParams(mu, var, trans, float(loglik), it, converged)
