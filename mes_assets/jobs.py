"""Asset jobs: the shared drivers, one per instrument family, and everything."""

from __future__ import annotations

import dagster as dg

from mes_assets.instruments import INSTRUMENTS, InstrumentSpec
from mes_assets.partitions import trading_day_partitions

DRIVERS_JOB = "drivers_job"
ALL_JOB = "all_overlays_job"


def instrument_job_name(spec: InstrumentSpec) -> str:
    return f"{spec.key_prefix}_job"


def backfill_jobs() -> list[dg.UnresolvedAssetJobDefinition]:
    jobs = [
        dg.define_asset_job(
            name=DRIVERS_JOB,
            selection=dg.AssetSelection.groups("drivers"),
            partitions_def=trading_day_partitions,
            description="Shared drivers (FRED, CFTC COT) into both warehouses.",
        ),
        dg.define_asset_job(
            name=ALL_JOB,
            selection=dg.AssetSelection.all(),
            partitions_def=trading_day_partitions,
            description="The shared drivers and every instrument family.",
        ),
    ]
    jobs += [
        dg.define_asset_job(
            name=instrument_job_name(spec),
            selection=dg.AssetSelection.groups(spec.key_prefix),
            partitions_def=trading_day_partitions,
            description=f"The {spec.symbol} family (sessions, bars, fib levels) for a date range.",
        )
        for spec in INSTRUMENTS
    ]
    return jobs
