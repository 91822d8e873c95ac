"""Logistic regression by Newton-IRLS, and the gamma-wall rejection fit ``p = sigmoid(alpha g - beta z)``.

Why: SPEC section 3 sets ``p_reject = sigmoid(alpha g - beta z)`` and section 8 asks for ``alpha,
beta`` fitted on historical "first touch then reverse" events around big OI strikes. That is a
logistic regression of the outcome (1 = price reversed after first touching the wall) on ``g`` and
``-z`` without an intercept (SPEC's form has none: ``p = 1/2`` at ``g = z = 0``).

Model and fit
-------------
``P(y_i = 1) = sigmoid(x_i' b)``. The penalised log-likelihood::

    l(b) = sum_i [ y_i eta_i - log(1 + exp(eta_i)) ] - ridge/2 * sum_j b_j^2,   eta = X b

(the intercept, when added, is not penalised) is maximised by Newton's method, which for the
logistic model is iteratively reweighted least squares: with ``p = sigmoid(eta)`` and
``W = diag(p (1 - p))``::

    b <- b + (X' W X + ridge I)^-1 (X' (y - p) - ridge b)

starting from ``b = 0``, halving a step that lowers ``l`` (never needed near the optimum, where the
convergence is quadratic). Converged when ``max |step| <= tol (1 + max |b|)``. Standard errors are
``sqrt(diag((X' W X + ridge I)^-1))`` at the solution (the usual MLE standard errors when
``ridge = 0``; with a ridge they are the curvature of the penalised likelihood, an approximation).

Separation: when some direction ``d`` has ``(2 y_i - 1) x_i' d >= 0`` for every row, with at least
one strict inequality, the data are (quasi-)completely separated and the unpenalised MLE does not
exist: the likelihood keeps rising as ``|b| -> infinity``, the fitted probabilities saturate to 0/1
and Newton's steps stall at huge coefficients that look converged. :func:`is_separated` decides it
exactly with a linear programme (Konis 2007, as in R's safeBinaryRegression): maximise
``sum_i (2 y_i - 1) x_i' d`` subject to those constraints and ``|d_j| <= 1``; a positive optimum
means separation. Without a ridge it is run whenever the iteration fails or ends with some
``|x_i' b| > 15`` (a fitted probability within 3e-7 of 0 or 1); separated data then give
``status="separated"``, ``converged=False`` and NaN coefficients - never huge or infinite ones. A
positive ridge makes the optimum finite, so separated data can still be fitted with one.

Everything is numpy/scipy (the work is a few small dense solves; no loop for numba to speed up).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.optimize import linprog
from scipy.special import expit

from mes_assets.kernels.types import ArrayLike, FloatArray

__all__ = ["LogitFit", "RejectionCalibration", "fit_alpha_beta", "fit_logistic", "is_separated"]

_ETA_SUSPICIOUS = 15.0  # |x'b| beyond which p is within 3e-7 of 0 or 1: check for separation

LogitStatus = Literal["converged", "separated", "no_variation", "singular", "max_iter"]


@dataclass(frozen=True, eq=False)
class LogitFit:
    """Result of :func:`fit_logistic`.

    Attributes
    ----------
    coef
        Coefficients (intercept first when fitted); NaN unless ``converged``.
    se
        Standard errors of ``coef``; NaN unless ``converged``.
    n_obs
        Rows used.
    n_events
        Rows with ``y = 1``.
    converged
        Whether Newton-IRLS met its tolerance.
    n_iter
        Newton iterations taken.
    log_likelihood
        Unpenalised log-likelihood at ``coef`` (NaN unless converged).
    status
        ``"converged"``; ``"separated"`` (the MLE does not exist); ``"no_variation"`` (all ``y``
        equal, an extreme case of separation); ``"singular"`` (``X' W X + ridge I`` not positive
        definite, e.g. collinear columns); ``"max_iter"``.
    """

    coef: FloatArray
    se: FloatArray
    n_obs: int
    n_events: int
    converged: bool
    n_iter: int
    log_likelihood: float
    status: LogitStatus


@dataclass(frozen=True, eq=False)
class RejectionCalibration:
    """``alpha, beta`` of ``p_reject = sigmoid(alpha g - beta z)`` (see :func:`fit_alpha_beta`).

    Attributes
    ----------
    alpha, beta
        Coefficients, or None when uncalibrated.
    se_alpha, se_beta
        Their standard errors (NaN when uncalibrated).
    n_obs
        First-touch events used.
    n_events
        Of which reversed (``y = 1``).
    status
        ``"calibrated"`` or ``"uncalibrated"``.
    reason
        Why uncalibrated (empty when calibrated).
    fit
        The underlying :class:`LogitFit` (None when not attempted).
    """

    alpha: float | None
    beta: float | None
    se_alpha: float
    se_beta: float
    n_obs: int
    n_events: int
    status: Literal["calibrated", "uncalibrated"]
    reason: str
    fit: LogitFit | None


def _design(X: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    x = np.asarray(X, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"X must be 1-D or 2-D, got shape {x.shape}")
    yy = np.asarray(y, dtype=np.float64)
    if yy.ndim != 1 or yy.shape[0] != x.shape[0]:
        raise ValueError(f"y must be 1-D with {x.shape[0]} rows, got shape {yy.shape}")
    if not np.isfinite(x).all():
        raise ValueError("X must be finite")
    if not np.isin(yy, (0.0, 1.0)).all():
        raise ValueError("y must contain only 0 and 1")
    return np.ascontiguousarray(x), yy


def is_separated(X: ArrayLike, y: ArrayLike) -> bool:
    """Whether the rows are (quasi-)completely separated, i.e. the logistic MLE does not exist.

    Parameters
    ----------
    X
        Design matrix ``(n, d)`` (or 1-D for one column), finite.
    y
        Outcomes in {0, 1}, length ``n``.

    Returns
    -------
    bool
        True when some ``d != 0`` has ``(2 y_i - 1) x_i' d >= 0`` for all rows with a positive sum
        (linear programme, Konis 2007). All-equal ``y`` counts as separated only if ``X`` has a
        non-zero row (then the MLE is infinite too).

    Raises
    ------
    ValueError
        On invalid shapes or values.
    """
    x, yy = _design(X, y)
    if x.shape[0] == 0:
        return False
    signed = (2.0 * yy - 1.0)[:, None] * x
    scale = float(np.abs(signed).sum())
    if scale == 0.0:
        return False
    signed = signed / scale  # margin objective in [-1, 1]; keeps the LP well scaled
    res = linprog(
        c=-signed.sum(axis=0),
        A_ub=-signed,
        b_ub=np.zeros(x.shape[0]),
        bounds=[(-1.0, 1.0)] * x.shape[1],
        method="highs",
    )
    if res.status != 0:  # pragma: no cover - the LP is feasible (d = 0) and bounded (box)
        raise RuntimeError(f"separation check failed: {res.message}")
    return bool(-res.fun > 1e-9)


def _penalised_loglik(x: FloatArray, y: FloatArray, b: FloatArray, ridge: FloatArray) -> float:
    eta = x @ b
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)) - 0.5 * np.sum(ridge * b * b))


def fit_logistic(
    X: ArrayLike,
    y: ArrayLike,
    *,
    ridge: float = 0.0,
    fit_intercept: bool = False,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> LogitFit:
    """Logistic regression by Newton-IRLS with an optional ridge penalty (module docstring).

    Parameters
    ----------
    X
        Design matrix ``(n, d)`` (or 1-D for one column), finite.
    y
        Outcomes in {0, 1}, length ``n``.
    ridge
        Penalty ``ridge/2 * |b|^2`` (>= 0; the intercept is not penalised).
    fit_intercept
        Prepend a column of ones (its coefficient comes first).
    tol
        Convergence tolerance on the Newton step relative to ``1 + max |b|`` (> 0).
    max_iter
        Maximum Newton iterations (integer >= 1).

    Returns
    -------
    LogitFit
        Coefficients, standard errors, counts and status.

    Raises
    ------
    ValueError
        On invalid inputs.
    """
    x, yy = _design(X, y)
    if isinstance(ridge, bool) or not isinstance(ridge, numbers.Real) or not (float(ridge) >= 0.0):
        raise ValueError(f"ridge must be a number >= 0, got {ridge!r}")
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not (float(tol) > 0.0):
        raise ValueError(f"tol must be > 0, got {tol!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"max_iter must be an integer >= 1, got {max_iter!r}")
    if fit_intercept:
        x = np.column_stack([np.ones(x.shape[0]), x])
    n, d = x.shape
    n_events = int(yy.sum())
    lam = np.full(d, float(ridge))
    if fit_intercept:
        lam[0] = 0.0
    nan = np.full(d, np.nan)

    def failed(status: LogitStatus, n_iter: int) -> LogitFit:
        return LogitFit(nan.copy(), nan.copy(), n, n_events, False, n_iter, math.nan, status)

    if n == 0:
        raise ValueError("need at least one row")
    unpenalised = float(ridge) == 0.0
    if unpenalised and n_events in (0, n) and np.abs(x).sum() > 0.0:
        return failed("no_variation", 0)

    def verdict(status: LogitStatus, n_iter: int) -> LogitFit:
        # a failure without a ridge is most often separation: say so when it is
        if unpenalised and is_separated(x, yy):
            return failed("separated", n_iter)
        return failed(status, n_iter)

    b = np.zeros(d)
    ll = _penalised_loglik(x, yy, b, lam)
    for it in range(1, max_iter + 1):
        p = expit(x @ b)
        w = p * (1.0 - p)
        grad = x.T @ (yy - p) - lam * b
        hess = (x * w[:, None]).T @ x + np.diag(lam)
        try:
            chol = np.linalg.cholesky(hess)
        except np.linalg.LinAlgError:
            return verdict("singular", it)
        step = np.linalg.solve(chol.T, np.linalg.solve(chol, grad))
        new_b = b + step
        new_ll = _penalised_loglik(x, yy, new_b, lam)
        halvings = 0
        while new_ll < ll and halvings < 30:
            step *= 0.5
            new_b = b + step
            new_ll = _penalised_loglik(x, yy, new_b, lam)
            halvings += 1
        b, ll = new_b, new_ll
        if np.max(np.abs(step)) <= tol * (1.0 + np.max(np.abs(b))):
            eta = x @ b
            # Under separation the fitted probabilities saturate to 0/1, the gradient vanishes in
            # float64 and the steps stop: a "converged" fit with huge |eta|. Check it exactly.
            if unpenalised and np.max(np.abs(eta)) > _ETA_SUSPICIOUS and is_separated(x, yy):
                return failed("separated", it)
            p = expit(eta)
            w = p * (1.0 - p)
            hess = (x * w[:, None]).T @ x + np.diag(lam)
            try:
                cov = np.linalg.inv(hess)
            except np.linalg.LinAlgError:
                return verdict("singular", it)
            diag = np.diag(cov)
            if not (np.isfinite(diag).all() and (diag > 0.0).all()):
                return verdict("singular", it)
            loglik = float(np.sum(yy * eta - np.logaddexp(0.0, eta)))
            return LogitFit(b, np.sqrt(diag), n, n_events, True, it, loglik, "converged")
    return verdict("max_iter", max_iter)


def fit_alpha_beta(
    g: ArrayLike,
    z: ArrayLike,
    reversed_: ArrayLike,
    *,
    min_events: int = 30,
    ridge: float = 0.0,
) -> RejectionCalibration:
    """Fit ``alpha, beta`` of ``p_reject = sigmoid(alpha g - beta z)`` on first-touch events.

    Parameters
    ----------
    g
        Normalised GEX slope at the touched wall for each event (dimensionless, finite).
    z
        Distance from the price at the event's start to the wall in standard deviations over the
        horizon (finite), same length.
    reversed_
        1 (or True) if price reversed after the first touch, else 0; same length.
    min_events
        Minimum number of events needed to calibrate (integer >= 1).
    ridge
        Optional ridge penalty (see :func:`fit_logistic`).

    Returns
    -------
    RejectionCalibration
        ``status="calibrated"`` with ``alpha`` and ``beta`` when there are at least ``min_events``
        events, both outcomes occur and the fit converged; otherwise ``status="uncalibrated"`` with
        ``alpha = beta = None`` and a reason - never a guessed coefficient.

    Raises
    ------
    ValueError
        On invalid inputs.
    """
    gg = np.asarray(g, dtype=np.float64).reshape(-1)
    zz = np.asarray(z, dtype=np.float64).reshape(-1)
    yy = np.asarray(reversed_).reshape(-1).astype(np.float64)
    if not (gg.shape == zz.shape == yy.shape):
        raise ValueError(f"g, z and reversed_ must have the same length, got {gg.size}, {zz.size}, {yy.size}")
    if isinstance(min_events, bool) or not isinstance(min_events, numbers.Integral) or min_events < 1:
        raise ValueError(f"min_events must be an integer >= 1, got {min_events!r}")
    n, n_rev = int(yy.size), int(np.count_nonzero(yy == 1.0))

    def uncalibrated(reason: str, fit: LogitFit | None = None) -> RejectionCalibration:
        return RejectionCalibration(None, None, math.nan, math.nan, n, n_rev, "uncalibrated", reason, fit)

    if n < min_events:
        return uncalibrated(f"too few events: {n} < {min_events}")
    if n_rev in (0, n):
        return uncalibrated("every event has the same outcome")
    fit = fit_logistic(np.column_stack([gg, -zz]), yy, ridge=ridge)
    if not fit.converged:
        return uncalibrated(f"logistic fit did not converge ({fit.status})", fit)
    return RejectionCalibration(
        alpha=float(fit.coef[0]),
        beta=float(fit.coef[1]),
        se_alpha=float(fit.se[0]),
        se_beta=float(fit.se[1]),
        n_obs=n,
        n_events=n_rev,
        status="calibrated",
        reason="",
        fit=fit,
    )
