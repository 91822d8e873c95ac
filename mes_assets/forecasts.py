"""From stored features to the rows of predictions.quantiles, explainability.shap_values and
explainability.force_lines (pure polars/numpy glue around the walk-forward model and TreeSHAP).

Every prediction is out of sample: the model that made it was trained only on labels public
before the prediction's session (see :func:`mes_assets.quantile_model.walk_forward`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from mes_assets.quantile_model import (
    FEATURE_COLUMNS,
    QUANTILE_COLUMNS,
    WalkForwardResult,
    feature_matrix,
    p50_shap,
    walk_forward,
)
from mes_assets.shap_groups import feature_group, force_lines, group_sums

CALC_VERSION = "forecasts-1.0.0"
# Daily horizons in sessions. Intraday MES horizons (5m/15m/60m) need intraday features: not yet.
HORIZON_SESSIONS = {"1w": 5, "1m": 21}


@dataclass(frozen=True)
class ForecastTables:
    quantiles: pl.DataFrame
    shap_values: pl.DataFrame
    force_lines: pl.DataFrame
    registry: pl.DataFrame
    crossing_rate: float


def forecast_tables(
    symbol: str, horizon: str, features: pl.DataFrame, start: dt.date, end: dt.date,
    computed_at: dt.datetime,
) -> ForecastTables:
    """Walk-forward forecasts for ``horizon`` and their explanations, restricted to [start, end]."""
    features = features.sort("date")
    h = HORIZON_SESSIONS[horizon]
    result = walk_forward(features, h)
    preds = result.predictions
    in_range = preds.filter(pl.col("date").is_between(start, end))
    dates = features["date"].to_list()
    close = features["close"].to_numpy()
    idx = in_range["session_index"].to_numpy()
    quantiles = in_range.select(
        "date",
        pl.lit(symbol).alias("symbol"),
        pl.lit(horizon).alias("horizon"),
        *[(pl.lit(close[idx]) * pl.col(c).exp()).alias(c) for c in QUANTILE_COLUMNS],
        pl.col("crossed").alias("crossing_fixed"),
        "model_version",
        "trained_through",
        pl.lit(close[idx]).alias("ref_price"),
        pl.Series("target_date", [dates[i + h] if i + h < len(dates) else None for i in idx],
                  dtype=pl.Date),
        pl.Series("feature_asof", features["feature_asof"].to_numpy()[idx]).cast(pl.Datetime("us", "UTC")),
        pl.lit(computed_at).cast(pl.Datetime("us", "UTC")).alias("computed_at"),
        "conformal_n",
        pl.col("margin_80").fill_nan(None),
        pl.col("margin_50").fill_nan(None),
        pl.lit(None, pl.Datetime("us", "UTC")).alias("origin_ts"),
        pl.lit(None, pl.Datetime("us", "UTC")).alias("target_ts"),
    )
    X = feature_matrix(features)
    contribs, base = _shap_for(result, X, preds)
    groups = group_sums(contribs, FEATURE_COLUMNS)
    lines = force_lines(preds["date"].to_list(), groups, base, preds["p50_raw"].to_numpy())
    lines = lines.with_columns(
        pl.lit(symbol).alias("symbol"), pl.lit(horizon).alias("horizon"),
        pl.lit("log_return").alias("output_unit"), preds["model_version"],
        pl.lit(CALC_VERSION).alias("calc_version"),
    ).filter(pl.col("date").is_between(start, end))
    shap_long = _shap_long(symbol, horizon, X, preds, contribs, base, start, end)
    registry = _registry(symbol, horizon, result, start, end, computed_at)
    rate = float(preds["crossed"].mean()) if preds.height else float("nan")
    return ForecastTables(quantiles, shap_long, lines, registry, rate)


def _shap_for(result: WalkForwardResult, X: np.ndarray, preds: pl.DataFrame):
    contribs = np.empty((preds.height, len(FEATURE_COLUMNS)))
    base = np.empty(preds.height)
    versions = preds["model_version"].to_numpy()
    rows = preds["session_index"].to_numpy()
    for version in dict.fromkeys(versions):
        mask = versions == version
        contribs[mask], base[mask] = p50_shap(result.boosters[version], X[rows[mask]])
    return contribs, base


def _shap_long(symbol, horizon, X_all, preds, contribs, base, start, end) -> pl.DataFrame:
    keep = preds["date"].is_between(start, end).to_numpy()
    n, m = int(keep.sum()), len(FEATURE_COLUMNS)
    X = X_all[preds["session_index"].to_numpy()[keep]]
    return pl.DataFrame({
        "date": np.repeat(preds["date"].to_numpy()[keep], m),
        "symbol": [symbol] * (n * m),
        "horizon": [horizon] * (n * m),
        "quantile": np.full(n * m, 0.5),
        "feature": list(FEATURE_COLUMNS) * n,
        "shap_value": contribs[keep].reshape(-1),
        "feature_value": pl.Series(X.reshape(-1)).fill_nan(None),
        "base_value": np.repeat(base[keep], m),
        "model_version": np.repeat(preds["model_version"].to_numpy()[keep], m),
        "feature_group": [feature_group(f) for f in FEATURE_COLUMNS] * n,
    }).with_columns(pl.col("date").cast(pl.Date))


def _registry(symbol, horizon, result, start, end, computed_at) -> pl.DataFrame:
    rows = [
        {
            "date": r.predict_start, "symbol": symbol, "horizon": horizon,
            "model_version": r.model_version, "train_start": r.train_start, "train_end": r.train_end,
            "n_train": r.n_train, "objective": "reg:quantileerror alpha=0.1,0.25,0.5,0.75,0.9",
            "params_json": r.params_json, "features_json": ",".join(r.features), "created_at": computed_at,
        }
        for r in result.refits if start <= r.predict_start <= end
    ]
    schema = {"date": pl.Date, "symbol": pl.Utf8, "horizon": pl.Utf8, "model_version": pl.Utf8,
              "train_start": pl.Date, "train_end": pl.Date, "n_train": pl.Int64, "objective": pl.Utf8,
              "params_json": pl.Utf8, "features_json": pl.Utf8, "created_at": pl.Datetime("us", "UTC")}
    return pl.DataFrame(rows, schema=schema)
