"""Shared drivers (FRED, CFTC COT): built once, written to every audience's warehouse.

Public data may flow into the private warehouse; nothing flows the other way.
"""

import datetime as dt

import dagster as dg
import polars as pl

from mes_assets.defs._slices import now_utc, slice_metadata, weekdays
from mes_assets.defs.partitions import partition_dates, trading_day_partitions
from mes_assets.instruments import INSTRUMENTS

FRED_SERIES = ("VIXCLS", "DGS2", "DGS10")
FRED_TABLE = "raw_intelligence.sentiment_daily"
COT_TABLE = "raw_intelligence.cftc_cot"
COT_MARKETS = tuple(sorted({spec.cot_market_code for spec in INSTRUMENTS} | {"13874A"}))
WAREHOUSE_KEYS = ("warehouse", "private_warehouse")
REPORT_TO_RELEASE_MAX = dt.timedelta(days=7)  # Tuesday positions, Friday release (+ holiday slips)


# Every driver: date-partitioned, one run per range, written through both audiences' warehouses.
driver_asset = dg.asset(
    key_prefix=["drivers"],
    group_name="drivers",
    partitions_def=trading_day_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    required_resource_keys={*WAREHOUSE_KEYS, "recorded_data"},
    pool="warehouse",
    kinds={"bigquery", "polars"},
)


def _write_everywhere(context, table, frame, start, end, key, key_column) -> None:
    for resource_key in WAREHOUSE_KEYS:
        warehouse = getattr(context.resources, resource_key).ensure_schema()
        warehouse.replace_slice(table, frame, start=start, end=end, symbol=key, symbol_column=key_column)


@driver_asset
def fred_sentiment_daily(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """FRED VIXCLS, DGS2, DGS10 daily observations; FRED '.'/blank stay NULL (missing, never 0)."""
    start, end = partition_dates(context)
    fred = context.resources.recorded_data.fred()
    frames = []
    for series_id in FRED_SERIES:
        frame = (
            fred.series(series_id, start, end)
            .with_columns(pl.lit(now_utc()).cast(pl.Datetime("us", "UTC")).alias("ingested_at"))
            .select("date", "series_id", "value", "source", "ingested_at")
        )
        _write_everywhere(context, FRED_TABLE, frame, start, end, series_id, "series_id")
        frames.append(frame)
    everything = pl.concat(frames)
    missing = everything.filter(pl.col("value").is_null()).height
    counts = {"weekdays": len(weekdays(start, end))}
    extra = {"missing_values": missing, "series": ", ".join(FRED_SERIES)}
    return dg.MaterializeResult(metadata=slice_metadata(FRED_TABLE, everything, start, end, counts, extra))


@driver_asset
def cftc_cot(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """CFTC Commitments of Traders, partitioned by release date so joins stay point-in-time."""
    start, end = partition_dates(context)
    cot = context.resources.recorded_data.cot()
    frames = []
    for market_code in COT_MARKETS:
        # Reports released in [start, end] were taken as of up to a week earlier.
        reports = cot.reports(market_code, start - REPORT_TO_RELEASE_MAX, end)
        frame = (
            reports.filter(pl.col("release_date").is_between(start, end))
            .with_columns(
                pl.col("release_date").alias("date"),
                pl.lit(now_utc()).cast(pl.Datetime("us", "UTC")).alias("ingested_at"),
            )
            .drop("release_date")  # stored as the partition column `date`
        )
        _write_everywhere(context, COT_TABLE, frame, start, end, market_code, "market_code")
        frames.append(frame)
    everything = pl.concat(frames, how="vertical_relaxed")
    counts = {"weekdays": len(weekdays(start, end))}
    extra = {"markets": ", ".join(COT_MARKETS), "reports": everything.height}
    return dg.MaterializeResult(metadata=slice_metadata(COT_TABLE, everything, start, end, counts, extra))
