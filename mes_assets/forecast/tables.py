"""From stored features to the rows of predictions.quantiles, explainability.shap_values and
explainability.force_lines (pure polars/numpy glue around the walk-forward model and TreeSHAP).

Every prediction is out of sample: the model that made it was trained only on labels public
before the prediction's row (see :func:`mes_assets.forecast.quantile_model.walk_forward_rows`).

Daily horizons (ZL 1w, 1m) forecast from each session's close; intraday horizons (MES 5m, 15m,
60m) from each five-minute RTH bar's close (:mod:`mes_assets.features.intraday`), refitted before
every session on all earlier sessions, first after ``INTRADAY_MIN_TRAIN_SESSIONS`` sessions.
Intraday rows carry ``origin_ts``/``target_ts``; daily rows leave them NULL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import cast

import numpy as np
import polars as pl

from mes_assets.features.intraday import (
    INTRADAY_FEATURE_COLUMNS,
    ORIGIN_BAR_MINUTES,
    intraday_labels,
)
from mes_assets.forecast.quantile_model import (
    FEATURE_COLUMNS,
    QUANTILE_COLUMNS,
    WalkForwardResult,
    feature_matrix,
    p50_shap,
    walk_forward,
    walk_forward_rows,
)
from mes_assets.forecast.shap_groups import feature_group, force_lines, group_sums
from mes_assets.horizons import horizon as horizon_of
from mes_assets.kernels.types import BoolArray, FloatArray

CALC_VERSION = "forecasts-1.1.0"
INTRADAY_MIN_TRAIN_SESSIONS = 10
_TS = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class ForecastTables:
    quantiles: pl.DataFrame
    shap_values: pl.DataFrame
    force_lines: pl.DataFrame
    registry: pl.DataFrame
    crossing_rate: float


@dataclass(frozen=True)
class _Rows:
    """What the table builders need about the rows a walk-forward ran over."""

    X: np.ndarray
    names: tuple[str, ...]
    close: np.ndarray
    asof: np.ndarray  # feature_asof per row (UTC datetimes)
    target_date: list[dt.date | None]  # per predicted row (None where past the data)
    origin_ts: np.ndarray | None
    target_ts: list[dt.datetime | None] | None


def forecast_tables(
    symbol: str,
    horizon: str,
    features: pl.DataFrame,
    start: dt.date,
    end: dt.date,
    computed_at: dt.datetime,
) -> ForecastTables:
    """Daily walk-forward forecasts for ``horizon`` and their explanations, restricted to [start, end]."""
    features = features.sort("date")
    h = horizon_of(horizon).sessions
    result = walk_forward(features, h)
    dates = features["date"].to_list()
    idx = result.predictions["session_index"].to_numpy()
    rows = _Rows(
        X=feature_matrix(features),
        names=FEATURE_COLUMNS,
        close=features["close"].to_numpy(),
        asof=features["feature_asof"].to_numpy(),
        target_date=[dates[i + h] if i + h < len(dates) else None for i in idx],
        origin_ts=None,
        target_ts=None,
    )
    return _tables(symbol, horizon, result, rows, start, end, computed_at)


def intraday_forecast_tables(
    symbol: str,
    horizon: str,
    features: pl.DataFrame,
    start: dt.date,
    end: dt.date,
    computed_at: dt.datetime,
) -> ForecastTables:
    """Intraday walk-forward forecasts (``features`` from :func:`intraday_features`), one row per
    origin with a defined in-session horizon, restricted to sessions in [start, end]."""
    features = features.sort("origin_ts")
    h = horizon_of(horizon).bars(ORIGIN_BAR_MINUTES)
    y, label_row = intraday_labels(features, h)
    session_pos = features["session_pos"].to_numpy()
    starts = np.flatnonzero(session_pos == 0)
    refits = [int(i) for i in starts[INTRADAY_MIN_TRAIN_SESSIONS:]]
    dates = features["date"].to_list()
    result = walk_forward_rows(
        feature_matrix(features, INTRADAY_FEATURE_COLUMNS),
        y,
        label_row,
        refits,
        dates,
        horizon=h,
        feature_names=INTRADAY_FEATURE_COLUMNS,
    )
    # An origin within h bars of the close has no in-session horizon: no forecast row.
    n = features.height
    same_session = np.zeros(n, dtype=bool)
    same_session[: max(n - h, 0)] = features["date"].to_numpy()[h:] == features["date"].to_numpy()[:-h]
    keep = same_session[result.predictions["session_index"].to_numpy()]
    result = WalkForwardResult(
        result.predictions.filter(pl.Series(keep)), result.boosters, result.refits, result.horizon, result.feature_names
    )
    idx = result.predictions["session_index"].to_numpy()
    origin = features["origin_ts"].cast(_TS)
    rows = _Rows(
        X=feature_matrix(features, INTRADAY_FEATURE_COLUMNS),
        names=INTRADAY_FEATURE_COLUMNS,
        close=features["close"].to_numpy(),
        asof=origin.to_numpy(),
        target_date=[dates[i + h] for i in idx],
        origin_ts=origin.to_numpy(),
        target_ts=origin.gather(idx + h).to_list(),
    )
    return _tables(symbol, horizon, result, rows, start, end, computed_at)


def _tables(
    symbol: str,
    horizon: str,
    result: WalkForwardResult,
    rows: _Rows,
    start: dt.date,
    end: dt.date,
    computed_at: dt.datetime,
) -> ForecastTables:
    preds = result.predictions.with_columns(
        pl.Series("target_date", rows.target_date, dtype=pl.Date),
        pl.Series(
            "target_ts", rows.target_ts if rows.target_ts is not None else [None] * result.predictions.height, dtype=_TS
        ),
        pl.Series(
            "origin_ts",
            rows.origin_ts[result.predictions["session_index"].to_numpy()]
            if rows.origin_ts is not None
            else [None] * result.predictions.height,
            dtype=_TS,
        ),
    )
    idx = preds["session_index"].to_numpy()
    ref = rows.close[idx]
    in_range = preds["date"].is_between(start, end).to_numpy()
    quantiles = preds.filter(pl.Series(in_range)).select(
        "date",
        pl.lit(symbol).alias("symbol"),
        pl.lit(horizon).alias("horizon"),
        *[(pl.Series(ref[in_range]) * pl.col(c).exp()).alias(c) for c in QUANTILE_COLUMNS],
        pl.col("crossed").alias("crossing_fixed"),
        "model_version",
        "trained_through",
        pl.Series("ref_price", ref[in_range]),
        "target_date",
        pl.Series("feature_asof", rows.asof[idx][in_range]).cast(_TS),
        pl.lit(computed_at).cast(_TS).alias("computed_at"),
        "conformal_n",
        pl.col("margin_80").fill_nan(None),
        pl.col("margin_50").fill_nan(None),
        "origin_ts",
        "target_ts",
    )
    contribs, base = _shap_for(result, rows.X, preds)
    groups = group_sums(contribs, rows.names)
    order = preds["origin_ts"] if rows.origin_ts is not None else preds["date"]
    lines = force_lines(order.to_list(), groups, base, preds["p50_raw"].to_numpy())
    lines = (
        lines.rename({"date": "order_key"})
        .with_columns(
            preds["date"],
            pl.lit(symbol).alias("symbol"),
            pl.lit(horizon).alias("horizon"),
            pl.lit("log_return").alias("output_unit"),
            preds["model_version"],
            pl.lit(CALC_VERSION).alias("calc_version"),
            preds["origin_ts"],
        )
        .drop("order_key")
        .filter(pl.Series(in_range))
    )
    shap_long = _shap_long(symbol, horizon, rows, preds, contribs, base, in_range)
    registry = _registry(symbol, horizon, result, start, end, computed_at)
    rate = float(cast(float, preds["crossed"].mean())) if preds.height else float("nan")
    return ForecastTables(quantiles, shap_long, lines, registry, rate)


def _shap_for(result: WalkForwardResult, X: np.ndarray, preds: pl.DataFrame) -> tuple[FloatArray, FloatArray]:
    contribs = np.empty((preds.height, X.shape[1]))
    base = np.empty(preds.height)
    versions = preds["model_version"].to_numpy()
    rows = preds["session_index"].to_numpy()
    for version in dict.fromkeys(versions):
        mask = versions == version
        contribs[mask], base[mask] = p50_shap(result.boosters[version], X[rows[mask]])
    return contribs, base


def _shap_long(
    symbol: str,
    horizon: str,
    rows: _Rows,
    preds: pl.DataFrame,
    contribs: FloatArray,
    base: FloatArray,
    keep: BoolArray,
) -> pl.DataFrame:
    n, m = int(keep.sum()), len(rows.names)
    X = rows.X[preds["session_index"].to_numpy()[keep]]
    return pl.DataFrame(
        {
            "date": np.repeat(preds["date"].to_numpy()[keep], m),
            "symbol": [symbol] * (n * m),
            "horizon": [horizon] * (n * m),
            "quantile": np.full(n * m, 0.5),
            "feature": list(rows.names) * n,
            "shap_value": contribs[keep].reshape(-1),
            "feature_value": pl.Series(X.reshape(-1)).fill_nan(None),
            "base_value": np.repeat(base[keep], m),
            "model_version": np.repeat(preds["model_version"].to_numpy()[keep], m),
            "feature_group": [feature_group(f) for f in rows.names] * n,
            "origin_ts": pl.Series(np.repeat(preds["origin_ts"].to_numpy()[keep], m)).cast(_TS),
        }
    ).with_columns(pl.col("date").cast(pl.Date))


def _registry(
    symbol: str, horizon: str, result: WalkForwardResult, start: dt.date, end: dt.date, computed_at: dt.datetime
) -> pl.DataFrame:
    rows = [
        {
            "date": r.predict_start,
            "symbol": symbol,
            "horizon": horizon,
            "model_version": r.model_version,
            "train_start": r.train_start,
            "train_end": r.train_end,
            "n_train": r.n_train,
            "objective": "reg:quantileerror alpha=0.1,0.25,0.5,0.75,0.9",
            "params_json": r.params_json,
            "features_json": ",".join(r.features),
            "created_at": computed_at,
        }
        for r in result.refits
        if start <= r.predict_start <= end
    ]
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "date": pl.Date,
        "symbol": pl.Utf8,
        "horizon": pl.Utf8,
        "model_version": pl.Utf8,
        "train_start": pl.Date,
        "train_end": pl.Date,
        "n_train": pl.Int64,
        "objective": pl.Utf8,
        "params_json": pl.Utf8,
        "features_json": pl.Utf8,
        "created_at": _TS,
    }
    return pl.DataFrame(rows, schema=schema)
