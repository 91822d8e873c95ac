"""Rolling model health (SPEC section 5, check 1) from stored pinball bands and realised closes.

At evaluation date D only forecasts whose outcome was known by D's close count (target_date <=
D): the last WINDOW of them, by forecast date. Coverage of the 80 % [p10, p90] and 50 % [p25, p75]
bands, pinball loss per quantile (price units) and its change against the WINDOW forecasts before,
the share of forecasts that crossed before sorting, and Kupiec's POF test of the 80 % band.
Fewer than MIN_OBS realised forecasts: no row (not enough evidence to call the model healthy).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from mes_assets.kernels.quantile_metrics import interval_coverage, kupiec_pof, pinball_loss
from mes_assets.quantile_model import ALPHAS, QUANTILE_COLUMNS

WINDOW = 60
MIN_OBS = 20


def _pinball(window: pl.DataFrame) -> np.ndarray:
    q = window.select(QUANTILE_COLUMNS).to_numpy()
    return pinball_loss(window["outcome"].to_numpy(), q, np.array(ALPHAS))


def model_health(
    symbol: str, bands: pl.DataFrame, closes: pl.DataFrame, dates: list[dt.date], computed_at: dt.datetime
) -> pl.DataFrame:
    """predictions.model_metrics rows for each evaluation date and horizon in ``bands``."""
    realised = bands.join(
        closes.select(pl.col("date").alias("target_date"), pl.col("close").alias("outcome")),
        on="target_date", how="inner",
    ).sort("date")
    rows = []
    for horizon in sorted(set(realised["horizon"])):
        per_h = realised.filter(pl.col("horizon") == horizon)
        for day in dates:
            known = per_h.filter(pl.col("target_date") <= day)
            window = known.tail(WINDOW)
            if window.height < MIN_OBS:
                continue
            losses = _pinball(window)
            before = known.head(max(known.height - WINDOW, 0)).tail(WINDOW)
            change = float(losses.mean() - _pinball(before).mean()) if before.height >= MIN_OBS else None
            y = window["outcome"].to_numpy()
            outside = int(np.sum((y < window["p10"].to_numpy()) | (y > window["p90"].to_numpy())))
            _, p_value = kupiec_pof(window.height, outside, 0.2)
            rows.append({
                "date": day, "symbol": symbol, "horizon": horizon, "window_days": WINDOW,
                "n_obs": window.height,
                "coverage_80": interval_coverage(y, window["p10"].to_numpy(), window["p90"].to_numpy()),
                "coverage_50": interval_coverage(y, window["p25"].to_numpy(), window["p75"].to_numpy()),
                **{f"pinball_{c}": float(v) for c, v in zip(QUANTILE_COLUMNS, losses, strict=True)},
                "pinball_mean": float(losses.mean()),
                "pinball_mean_change": change,
                "crossing_rate": float(window["crossing_fixed"].mean()),
                "kupiec_p_value": float(p_value),
                "model_version": window["model_version"][-1],
                "computed_at": computed_at,
            })
    schema = {"date": pl.Date, "window_days": pl.Int64, "n_obs": pl.Int64, "pinball_mean_change": pl.Float64,
              "computed_at": pl.Datetime("us", "UTC")}
    if not rows:
        return pl.DataFrame()
    return pl.DataFrame(rows, schema_overrides=schema)
