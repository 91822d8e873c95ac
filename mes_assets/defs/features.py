"""features.master_features: point-in-time daily features per instrument and session."""

import os

import dagster as dg
import polars as pl

from mes_assets.defs._slices import calibrated_spec, family_asset, instrument_warehouse, slice_metadata, weekdays
from mes_assets.defs.drivers import cftc_cot, fred_sentiment_daily
from mes_assets.defs.partitions import partition_dates
from mes_assets.features.daily import build_features
from mes_assets.instruments import InstrumentSpec
from mes_assets.sources.policy_feeds import configured_feeds, read_feeds
from mes_assets.sources.schemas import one_report_per_week
from mes_assets.warehouse.queries import query
from mes_assets.warehouse.sql_files import read_sql

TABLE = "features.master_features"
CALC_VERSION = "features-1.0.0"
# Daily session bars the features describe, per InstrumentSpec.bar_frequency.
SESSION_BARS_SQL = {"1d": "transforms/rth_bars_1d.sql", "1m": "transforms/rth_session_bars_1m.sql"}


def _inputs(warehouse, spec: InstrumentSpec, end):
    params = {"symbol": spec.symbol, "start_date": spec.history_start, "end_date": end}
    bars = warehouse.read(read_sql(SESSION_BARS_SQL[spec.bar_frequency]), params).sort("date")
    fred = warehouse.read(
        query("fred_observations_through"),
        {"end_date": end},
    )
    cot = (
        warehouse.read(
            query("cftc_cot_market_through"),
            {"market": spec.cot_market_code, "end_date": end},
        )
        .rename({"date": "release_date"})
        .drop("ingested_at")
    )
    cot = one_report_per_week(cot)
    return bars, fred, cot


def build_features_asset(spec: InstrumentSpec, upstream: list[dg.AssetsDefinition]) -> dg.AssetsDefinition:
    @family_asset(
        spec,
        "master_features",
        kinds={"bigquery", "polars"},
        deps=[*upstream, fred_sentiment_daily, cftc_cot],
        description=f"{spec.symbol} point-in-time features (price, FRED, COT by release date, policy regimes).",
    )
    def _features(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        start, end = partition_dates(context)
        warehouse = instrument_warehouse(context, spec)
        effective = calibrated_spec(spec, warehouse)
        bars, fred, cot = _inputs(warehouse, spec, end)
        asof = bars.select("date", pl.col("bar_end").alias("bar_close_utc"))
        feeds, absent = configured_feeds(os.environ)
        features = build_features(
            spec.symbol,
            bars,
            fred,
            cot,
            asof_times=asof,
            calc_version=CALC_VERSION,
            zigzag_k=effective.zigzag_k,
            feed_observations=read_feeds(feeds),
        )
        rows = features.filter(pl.col("date").is_between(start, end))
        warehouse.replace_slice(TABLE, rows, start=start, end=end, symbol=spec.symbol)
        days = weekdays(start, end)
        counts = {"with_features": rows.height, "no_session_or_bars": len(days) - rows.height}
        null_share = {
            f"null_share_{c}": round(rows[c].null_count() / rows.height, 3)
            for c in ("fred_vix", "fred_dgs10", "cftc_net_spec")
            if rows.height
        }
        feed_status = {f"feed_{f.column}": "configured" for f in feeds} | {
            f"feed_{c}": why for c, why in absent.items()
        }
        return dg.MaterializeResult(
            metadata=slice_metadata(TABLE, rows, start, end, counts, {**null_share, **feed_status})
        )

    return _features
