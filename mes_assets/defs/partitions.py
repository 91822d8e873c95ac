"""Trading-date partitions: every weekday from the start of the real history.

Weekdays, not exchange sessions, so one definition serves both exchanges; a weekday that is not a
session of an instrument's calendar materializes as an explicit "no session" outcome.
"""

from __future__ import annotations

import datetime as dt
import warnings

import dagster as dg

from mes_assets.instruments import INSTRUMENTS

# Single-run backfills are the design (DESIGN section 3); Dagster still labels the parameter beta.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)

PARTITIONS_START = min(spec.history_start for spec in INSTRUMENTS)

trading_day_partitions = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 * * 1-5",
    fmt="%Y-%m-%d",
    start=PARTITIONS_START.isoformat(),
    end_offset=0,
)


def partition_dates(context: dg.AssetExecutionContext) -> tuple[dt.date, dt.date]:
    """First and last trading date of the run's partition range (one date for a single partition)."""
    keys = context.partition_key_range
    return dt.date.fromisoformat(keys.start), dt.date.fromisoformat(keys.end)
