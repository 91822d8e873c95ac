"""Rolling model health (SPEC section 5, check 1) from stored pinball bands and realised closes.

At evaluation date D only forecasts whose outcome was known by D's close count (target_date <=
D): those made on the last WINDOW forecast dates (daily horizons: the last WINDOW forecasts;
intraday horizons: every five-minute origin of the last WINDOW sessions). Coverage of the 80 %
[p10, p90] and 50 % [p25, p75] bands, pinball loss per quantile (price units) and its change
against the WINDOW forecasts before, the share of forecasts that crossed before sorting, and
Kupiec's POF test of the 80 % band.
Fewer than MIN_OBS realised forecasts: no row (not enough evidence to call the model healthy).
"""

from __future__ import annotations

import datetime as dt
from typing import cast

import numpy as np
import polars as pl

from mes_assets.forecast.quantile_model import ALPHAS, QUANTILE_COLUMNS
from mes_assets.kernels.quantile_metrics import interval_coverage, kupiec_pof, pinball_loss

WINDOW = 60
MIN_OBS = 20


def _pinball(window: pl.DataFrame) -> np.ndarray:
    q = window.select(QUANTILE_COLUMNS).to_numpy()
    return pinball_loss(window["outcome"].to_numpy(), q, np.array(ALPHAS))


def realised_outcomes(
    bands: pl.DataFrame, closes: pl.DataFrame, bar_closes: pl.DataFrame | None = None
) -> pl.DataFrame:
    """``bands`` with the realised price ``outcome``: the close of ``target_date`` for daily rows
    (``closes``: date, close), the close of the five-minute bar ending at ``target_ts`` for
    intraday rows (``bar_closes``: bar_end, close). Forecasts without an outcome yet are dropped."""
    daily = bands.filter(pl.col("target_ts").is_null()).join(
        closes.select(pl.col("date").alias("target_date"), pl.col("close").alias("outcome")),
        on="target_date",
        how="inner",
    )
    if bar_closes is None or bar_closes.is_empty():
        return daily
    intraday = bands.filter(pl.col("target_ts").is_not_null()).join(
        bar_closes.select(
            pl.col("bar_end").cast(pl.Datetime("us", "UTC")).alias("target_ts"), pl.col("close").alias("outcome")
        ),
        on="target_ts",
        how="inner",
    )
    return pl.concat([daily, intraday])


def model_health(symbol: str, realised: pl.DataFrame, dates: list[dt.date], computed_at: dt.datetime) -> pl.DataFrame:
    """predictions.model_metrics rows for each evaluation date and horizon in ``realised``
    (:func:`realised_outcomes`)."""
    order = ["date", "origin_ts"] if "origin_ts" in realised.columns else ["date"]
    realised = realised.sort(order, nulls_last=False)
    rows = []
    for horizon in sorted(set(realised["horizon"])):
        per_h = realised.filter(pl.col("horizon") == horizon)
        for day in dates:
            known = per_h.filter(pl.col("target_date") <= day)
            forecast_days = known["date"].unique().sort()
            recent, earlier = forecast_days.tail(WINDOW), forecast_days.head(max(forecast_days.len() - WINDOW, 0))
            window = known.filter(pl.col("date").is_in(recent.implode()))
            if window.height < MIN_OBS:
                continue
            losses = _pinball(window)
            before = known.filter(pl.col("date").is_in(earlier.tail(WINDOW).implode()))
            change = float(losses.mean() - _pinball(before).mean()) if before.height >= MIN_OBS else None
            y = window["outcome"].to_numpy()
            outside = int(np.sum((y < window["p10"].to_numpy()) | (y > window["p90"].to_numpy())))
            _, p_value = kupiec_pof(window.height, outside, 0.2)
            rows.append(
                {
                    "date": day,
                    "symbol": symbol,
                    "horizon": horizon,
                    "window_days": WINDOW,
                    "n_obs": window.height,
                    "coverage_80": interval_coverage(y, window["p10"].to_numpy(), window["p90"].to_numpy()),
                    "coverage_50": interval_coverage(y, window["p25"].to_numpy(), window["p75"].to_numpy()),
                    **{f"pinball_{c}": float(v) for c, v in zip(QUANTILE_COLUMNS, losses, strict=True)},
                    "pinball_mean": float(losses.mean()),
                    "pinball_mean_change": change,
                    "crossing_rate": float(cast(float, window["crossing_fixed"].mean())),
                    "kupiec_p_value": float(p_value),
                    "model_version": window["model_version"][-1],
                    "computed_at": computed_at,
                }
            )
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "date": pl.Date,
        "window_days": pl.Int64,
        "n_obs": pl.Int64,
        "pinball_mean_change": pl.Float64,
        "computed_at": pl.Datetime("us", "UTC"),
    }
    if not rows:
        return pl.DataFrame()
    return pl.DataFrame(rows, schema_overrides=schema)
