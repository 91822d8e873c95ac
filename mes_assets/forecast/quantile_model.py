"""Walk-forward multi-quantile XGBoost forecaster and exact TreeSHAP of its P50 output.

Definitions
-----------
Rows of ``features`` (one instrument, ``features.master_features`` columns, see
:data:`mes_assets.features.daily.FEATURE_SCHEMA`) are sessions indexed positionally ``t = 0 .. n-1``
after sorting by ``date``. The **label** of row ``t`` at horizon ``h`` (sessions) is the forward
log return ``y[t] = ln(close[t + h] / close[t])`` (dimensionless log-return units); it becomes
known only at the close of session ``t + h`` and is NaN where ``t + h >= n``.

Walk-forward (no lookahead)
---------------------------
Refit points are ``T_k = min_train + h + k * retrain_every`` (row indices, ``T_k < n``). The model
fitted at ``T_k`` is trained on every row ``t`` whose label was public **strictly before** the
first prediction session, i.e. ``t + h < T_k`` (``t = 0 .. T_k - h - 1``, an expanding window of
``T_k - h >= min_train`` rows), and it predicts rows ``T_k .. T_{k+1} - 1`` only: every prediction
is out of sample. (The features of row ``T_k`` are known at the close of ``T_k``; a label that
became public at that same close is deliberately not used — one session of slack.)

One booster per refit with ``objective="reg:quantileerror"`` and ``quantile_alpha=ALPHAS`` (one
output per quantile level). Missing feature values (SQL NULL) are passed as NaN, which XGBoost
routes down the learned default branch; nothing is imputed. Training is single-process,
``nthread=2``, ``subsample=1.0``, fixed ``seed`` — repeated runs give identical predictions.

Conformal bands: the raw 80 % [P10, P90] and 50 % [P25, P75] bands of a refit are widened (or
narrowed) by their CQR margins (:func:`~mes_assets.kernels.quantile_metrics.conformal_margin`)
computed from the *earlier* refits' out-of-sample rows whose outcome was public before the refit's
first predicted row — never from the rows being predicted. Until ``MIN_CONFORMAL_ROWS`` such rows
exist the raw bands are kept and ``conformal_n`` says how many there were. The P50 is never moved.
On ZL this took 1m coverage of the 80 % band from 0.74 to 0.80 (README).

Predicted quantiles are rearranged per row with :func:`~mes_assets.kernels.quantile_metrics.
repair_crossing` (row-wise sort) and the ``crossed`` flag records rows that needed it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from typing import Any

import numpy as np
import polars as pl
import xgboost as xgb

from mes_assets.features.daily import FEATURE_SCHEMA
from mes_assets.horizons import QUANTILE_LEVELS
from mes_assets.kernels.quantile_metrics import (
    conformal_margin,
    crossing_rate,
    historical_quantile_baseline,
    interval_coverage,
    pinball_loss,
    repair_crossing,
)

__all__ = [
    "ALPHAS",
    "DEFAULT_PARAMS",
    "FEATURE_COLUMNS",
    "QUANTILE_COLUMNS",
    "RefitInfo",
    "WalkForwardResult",
    "evaluate_rows",
    "feature_matrix",
    "forward_log_return",
    "p50_shap",
    "walk_forward",
    "walk_forward_rows",
]

ALPHAS: tuple[float, ...] = QUANTILE_LEVELS
QUANTILE_COLUMNS: tuple[str, ...] = ("p10", "p25", "p50", "p75", "p90")
P50_INDEX = ALPHAS.index(0.5)

_NON_FEATURES = frozenset({"date", "symbol", "close", "feature_asof", "calc_version", "cftc_report_date"})
#: Numeric model inputs, in FEATURE_SCHEMA order.
FEATURE_COLUMNS: tuple[str, ...] = tuple(c for c in FEATURE_SCHEMA if c not in _NON_FEATURES)

#: Deterministic, heavily regularised defaults; ``num_boost_round`` is popped before ``xgb.train``.
#: Chosen on the ZL walk-forward (README "Quantile model"): deeper/longer boosters (depth 3, 200
#: rounds) fitted noise — bands too narrow, pinball loss above the unconditional baseline — while
#: additive stumps with >= 50 rows per leaf match or beat it. Depth 1 also keeps TreeSHAP exact per
#: feature with no interaction terms to apportion.
DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "reg:quantileerror",
    "quantile_alpha": list(ALPHAS),
    "tree_method": "hist",
    "max_depth": 1,
    "min_child_weight": 50,
    "eta": 0.05,
    "subsample": 1.0,
    "nthread": 2,
    "num_boost_round": 30,
}

SHAP_ADDITIVITY_RTOL = 1e-5
#: Out-of-sample rows with a public outcome needed before the CQR margins are applied.
MIN_CONFORMAL_ROWS = 40

PREDICTION_SCHEMA: dict[str, Any] = {
    "date": pl.Date,
    "session_index": pl.Int64,
    **{c: pl.Float64 for c in QUANTILE_COLUMNS},
    "crossed": pl.Boolean,
    "p50_raw": pl.Float64,
    "model_version": pl.Utf8,
    "trained_through": pl.Date,
    "label_public_through": pl.Date,
    "conformal_n": pl.Int64,
    "margin_80": pl.Float64,
    "margin_50": pl.Float64,
}


@dataclasses.dataclass(frozen=True)
class RefitInfo:
    """Registry metadata of one walk-forward refit.

    ``train_start``/``train_end`` are the feature dates of the first/last training row;
    ``label_public_through`` is the session whose close made the last used label public
    (``train_end`` + ``horizon`` sessions); ``refit_index`` is the first predicted row ``T``.
    """

    model_version: str
    train_start: dt.date
    train_end: dt.date
    label_public_through: dt.date
    n_train: int
    horizon: int
    refit_index: int
    predict_start: dt.date
    predict_end: dt.date
    params_json: str
    features: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class WalkForwardResult:
    """Out-of-sample predictions, boosters per refit and their registry metadata.

    ``predictions`` columns: ``date``, ``session_index`` (row index in the date-sorted features),
    ``p10 .. p90`` (repaired quantiles of the ``horizon``-session forward log return),
    ``crossed`` (the raw row was crossed before repair), ``p50_raw`` (the P50 output before
    repair — what SHAP explains), ``model_version``, ``trained_through`` (feature date of the last
    training row) and ``label_public_through`` (the session whose close published the last
    training label; strictly before ``date``).
    """

    predictions: pl.DataFrame
    boosters: dict[str, xgb.Booster]
    refits: tuple[RefitInfo, ...]
    horizon: int
    feature_names: tuple[str, ...]

    def registry_frame(self) -> pl.DataFrame:
        return pl.DataFrame([dataclasses.asdict(r) | {"features": list(r.features)} for r in self.refits])


def forward_log_return(close: Any, horizon_sessions: int) -> np.ndarray:
    """Forward log return over ``horizon_sessions`` rows.

    Parameters
    ----------
    close
        Positive prices, shape ``(n,)`` (price units), one per session in date order.
    horizon_sessions
        ``h >= 1`` sessions.

    Returns
    -------
    np.ndarray
        Shape ``(n,)``: ``ln(close[t + h] / close[t])`` (log-return units); NaN for ``t + h >= n``
        (not yet known). The value of row ``t`` is known only at session ``t + h``.
    """
    c = np.asarray(close, dtype=np.float64)
    if c.ndim != 1:
        raise ValueError(f"close must be 1-D, got shape {c.shape}")
    h = int(horizon_sessions)
    if h < 1 or h != horizon_sessions:
        raise ValueError(f"horizon_sessions must be an integer >= 1, got {horizon_sessions!r}")
    if np.any(c[np.isfinite(c)] <= 0.0):
        raise ValueError("close must be positive")
    out = np.full(c.shape[0], np.nan)
    if c.shape[0] > h:
        out[:-h] = np.log(c[h:]) - np.log(c[:-h])
    return out


def feature_matrix(features: pl.DataFrame, columns: tuple[str, ...] = FEATURE_COLUMNS) -> np.ndarray:
    """Float64 matrix of ``columns`` (default :data:`FEATURE_COLUMNS`), SQL NULL -> NaN
    (XGBoost's missing value)."""
    missing = [c for c in columns if c not in features.columns]
    if missing:
        raise ValueError(f"features lack model columns {missing}")
    return features.select(pl.col(c).cast(pl.Float64) for c in columns).to_numpy().astype(np.float64, copy=False)


def _model_version(params: dict[str, Any], train_end: dt.date, horizon: int, features: list[str]) -> str:
    blob = json.dumps(
        {"params": params, "train_end": train_end.isoformat(), "features": features, "horizon": horizon},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def walk_forward(
    features: pl.DataFrame,
    horizon_sessions: int,
    *,
    min_train: int = 252,
    retrain_every: int = 21,
    params: dict[str, Any] | None = None,
    seed: int = 7,
    conformal: bool = True,
) -> WalkForwardResult:
    """Expanding-window walk-forward multi-quantile forecast of daily rows (see module docstring).

    Parameters
    ----------
    features
        One symbol's feature rows (``FEATURE_SCHEMA`` columns; at least ``date``, ``close`` and
        :data:`FEATURE_COLUMNS`), any order; sorted by ``date`` here.
    horizon_sessions
        Forecast horizon ``h`` in sessions (>= 1).
    min_train
        Rows in the first training window (>= 1); the first prediction is row ``min_train + h``.
    retrain_every
        Sessions between refits (>= 1).
    params
        Overrides of :data:`DEFAULT_PARAMS` (``objective``/``quantile_alpha`` are fixed).
    seed
        XGBoost seed.
    conformal
        Widen/narrow the 80 % and 50 % bands by their CQR margins (module docstring).

    Returns
    -------
    WalkForwardResult
        Empty ``predictions`` (and no boosters) when ``n <= min_train + h``.
    """
    h = int(horizon_sessions)
    if h < 1 or h != horizon_sessions:
        raise ValueError(f"horizon_sessions must be an integer >= 1, got {horizon_sessions!r}")
    if min_train < 1 or retrain_every < 1:
        raise ValueError("min_train and retrain_every must be >= 1")
    if features.get_column("date").is_duplicated().any():
        raise ValueError("features must hold one row per date (one symbol)")
    frame = features.sort("date")
    n = frame.height
    y = forward_log_return(frame.get_column("close").to_numpy(), h)
    return walk_forward_rows(
        feature_matrix(frame),
        y,
        np.arange(n, dtype=np.int64) + h,
        list(range(min_train + h, n, retrain_every)),
        frame.get_column("date").to_list(),
        horizon=h,
        feature_names=FEATURE_COLUMNS,
        params=params,
        seed=seed,
        conformal=conformal,
    )


def _booster_params(params: dict[str, Any] | None, seed: int) -> tuple[dict[str, Any], int, str]:
    p = dict(DEFAULT_PARAMS)
    p.update(params or {})
    p.update({"objective": "reg:quantileerror", "quantile_alpha": list(ALPHAS), "seed": int(seed)})
    rounds = int(p.pop("num_boost_round"))
    return p, rounds, json.dumps(dict(p) | {"num_boost_round": rounds}, sort_keys=True)


def _conformal_bands(
    q: np.ndarray,
    done_q: list[np.ndarray],
    done_rows: list[np.ndarray],
    y: np.ndarray,
    label_row: np.ndarray,
    first_row: int,
) -> tuple[np.ndarray, int, float, float]:
    """CQR-adjusted bands from earlier out-of-sample rows whose outcome was public before ``first_row``."""
    if not done_rows:
        return q, 0, float("nan"), float("nan")
    rows = np.concatenate(done_rows)
    past = np.vstack(done_q)
    cal = np.isfinite(y[rows]) & (label_row[rows] < first_row)
    n_cal = int(cal.sum())
    if n_cal < MIN_CONFORMAL_ROWS:
        return q, n_cal, float("nan"), float("nan")
    y_cal, past = y[rows[cal]], past[cal]
    m80 = conformal_margin(y_cal, past[:, 0], past[:, 4], 0.8)
    m50 = conformal_margin(y_cal, past[:, 1], past[:, 3], 0.5)
    out = q.copy()
    out[:, 0] -= m80
    out[:, 4] += m80
    out[:, 1] -= m50
    out[:, 3] += m50
    return np.sort(out, axis=1), n_cal, m80, m50


def walk_forward_rows(
    X: np.ndarray,
    y: np.ndarray,
    label_row: np.ndarray,
    refit_points: list[int],
    row_dates: list[dt.date],
    *,
    horizon: int,
    feature_names: tuple[str, ...],
    params: dict[str, Any] | None = None,
    seed: int = 7,
    conformal: bool = True,
) -> WalkForwardResult:
    """Walk-forward core over positional rows (daily sessions or intraday bars).

    Parameters
    ----------
    X
        ``(n, len(feature_names))`` float64 features, NaN = missing; row ``t`` known at its close.
    y
        ``(n,)`` labels (forward log returns), NaN where undefined or not yet known.
    label_row
        ``(n,)`` the row at whose close ``y[t]`` becomes public (``t + h``).
    refit_points
        Increasing first-predicted rows ``T_k``. The refit at ``T_k`` trains on every row with a
        finite label and ``label_row < T_k`` and predicts rows ``T_k .. T_{k+1} - 1``.
    row_dates
        Session date of each row (registry and ``date`` column).
    horizon
        Horizon in rows, recorded in the registry.
    conformal
        Apply the CQR margins from earlier out-of-sample rows (``MIN_CONFORMAL_ROWS`` needed).
    """
    n = X.shape[0]
    p, rounds, params_json = _booster_params(params, seed)
    names = list(feature_names)
    blocks: list[pl.DataFrame] = []
    boosters: dict[str, xgb.Booster] = {}
    refits: list[RefitInfo] = []
    done_q: list[np.ndarray] = []
    done_rows: list[np.ndarray] = []
    for k, T in enumerate(refit_points):
        train = np.flatnonzero(np.isfinite(y[:T]) & (label_row[:T] < T))
        if train.size == 0:
            continue
        stop = refit_points[k + 1] if k + 1 < len(refit_points) else n
        dtrain = xgb.DMatrix(X[train], label=y[train], missing=np.nan, feature_names=names)
        booster = xgb.train(p, dtrain, num_boost_round=rounds)
        dpred = xgb.DMatrix(X[T:stop], missing=np.nan, feature_names=names)
        raw = np.asarray(booster.predict(dpred), dtype=np.float64).reshape(stop - T, len(ALPHAS))
        q, crossed = repair_crossing(raw, ALPHAS)
        rows = np.arange(T, stop, dtype=np.int64)
        bands, n_cal, m80, m50 = (
            _conformal_bands(q, done_q, done_rows, y, label_row, T) if conformal else (q, 0, np.nan, np.nan)
        )
        done_q.append(q)
        done_rows.append(rows)
        first, last = int(train[0]), int(train[-1])
        public_through = row_dates[int(label_row[train].max())]
        version = _model_version(json.loads(params_json), row_dates[last], horizon, names)
        boosters[version] = booster
        refits.append(
            RefitInfo(
                model_version=version,
                train_start=row_dates[first],
                train_end=row_dates[last],
                label_public_through=public_through,
                n_train=int(train.size),
                horizon=horizon,
                refit_index=T,
                predict_start=row_dates[T],
                predict_end=row_dates[stop - 1],
                params_json=params_json,
                features=tuple(names),
            )
        )
        size = stop - T
        blocks.append(
            pl.DataFrame(
                {
                    "date": row_dates[T:stop],
                    "session_index": rows,
                    **{name: bands[:, j] for j, name in enumerate(QUANTILE_COLUMNS)},
                    "crossed": crossed,
                    "p50_raw": raw[:, P50_INDEX],
                    "model_version": [version] * size,
                    "trained_through": [row_dates[last]] * size,
                    "label_public_through": [public_through] * size,
                    "conformal_n": np.full(size, n_cal, dtype=np.int64),
                    "margin_80": np.full(size, m80),
                    "margin_50": np.full(size, m50),
                },
                schema_overrides={"date": pl.Date, "trained_through": pl.Date, "label_public_through": pl.Date},
            )
        )
    predictions = pl.concat(blocks) if blocks else pl.DataFrame(schema=PREDICTION_SCHEMA)
    return WalkForwardResult(predictions, boosters, tuple(refits), horizon, tuple(names))


def p50_shap(booster: xgb.Booster, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact TreeSHAP of the P50 output (``Booster.predict(pred_contribs=True)``).

    Parameters
    ----------
    booster
        A multi-quantile booster from :func:`walk_forward`.
    X
        Feature matrix ``(n, len(FEATURE_COLUMNS))``, NaN = missing.

    Returns
    -------
    contribs
        ``(n, n_features)`` float64 per-feature contributions (log-return units).
    base
        ``(n,)`` the expected value (bias column).

    Notes
    -----
    For a ``quantile_alpha`` model XGBoost 3.2 returns contributions of shape
    ``(n, n_quantiles, n_features + 1)``, the last column being the bias. The quantile objective's
    output is the raw margin, so ``contribs.sum(1) + base`` equals the P50 prediction; this is
    asserted to ``1e-5`` relative (plus a float32-rounding absolute slack of
    ``1e-5 * max|P50|`` — XGBoost computes in float32).
    """
    Xm = np.asarray(X, dtype=np.float64)
    d = xgb.DMatrix(Xm, missing=np.nan, feature_names=booster.feature_names or list(FEATURE_COLUMNS))
    c = np.asarray(booster.predict(d, pred_contribs=True), dtype=np.float64)
    pred = np.asarray(booster.predict(d), dtype=np.float64)
    if c.ndim == 3:
        if c.shape[1] != len(ALPHAS):
            raise ValueError(f"unexpected pred_contribs shape {c.shape}")
        c = c[:, P50_INDEX, :]
        pred = pred.reshape(Xm.shape[0], len(ALPHAS))[:, P50_INDEX]
    contribs, base = c[:, :-1], c[:, -1]
    total = contribs.sum(axis=1) + base
    scale = float(np.max(np.abs(pred))) if pred.size else 0.0
    if not np.allclose(total, pred, rtol=SHAP_ADDITIVITY_RTOL, atol=SHAP_ADDITIVITY_RTOL * scale):
        raise AssertionError(f"SHAP additivity broken: max |diff| {np.max(np.abs(total - pred)):.3g}")
    return contribs, base


def evaluate_rows(result: WalkForwardResult, y: np.ndarray, label_row: np.ndarray) -> dict[str, float]:
    """Out-of-sample scores of the walk-forward forecast vs the unconditional baseline.

    Only predicted rows whose label is realised are scored. The baseline for the rows of each
    refit is :func:`historical_quantile_baseline` of exactly that refit's training labels (finite
    labels public before its first predicted row). All losses in log-return units.

    Returns keys ``n_eval``, ``coverage_80``, ``coverage_50``, ``pinball_mean``,
    ``baseline_coverage_80``, ``baseline_coverage_50``, ``baseline_pinball_mean``,
    ``crossing_rate`` (over all predicted rows, before repair) and ``n_refits``.
    """
    pred = result.predictions
    idx = pred.get_column("session_index").to_numpy()
    q = pred.select(QUANTILE_COLUMNS).to_numpy()
    base = np.empty_like(q)
    starts = {r.model_version: r.refit_index for r in result.refits}
    versions = pred.get_column("model_version").to_numpy()
    for v in dict.fromkeys(versions):
        T = starts[v]
        train = np.isfinite(y[:T]) & (label_row[:T] < T)
        base[versions == v] = historical_quantile_baseline(y[:T][train], ALPHAS)
    ok = np.isfinite(y[idx])
    yy, qq, bb = y[idx][ok], q[ok], base[ok]

    def scores(m: np.ndarray) -> tuple[float, float, float]:
        return (
            interval_coverage(yy, m[:, 0], m[:, 4]),
            interval_coverage(yy, m[:, 1], m[:, 3]),
            float(pinball_loss(yy, m, ALPHAS).mean()),
        )

    c80, c50, pin = scores(qq)
    b80, b50, bpin = scores(bb)
    return {
        "n_eval": int(ok.sum()),
        "n_refits": len(result.refits),
        "coverage_80": c80,
        "coverage_50": c50,
        "pinball_mean": pin,
        "baseline_coverage_80": b80,
        "baseline_coverage_50": b50,
        "baseline_pinball_mean": bpin,
        "crossing_rate": crossing_rate(pred.get_column("crossed").to_numpy()),
    }
