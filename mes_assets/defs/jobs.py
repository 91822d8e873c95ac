"""Asset jobs: shared drivers, one per instrument family, the k calibration, and everything."""

from __future__ import annotations

import dagster as dg

from mes_assets.defs.partitions import trading_day_partitions
from mes_assets.instruments import INSTRUMENTS, InstrumentSpec

DRIVERS_JOB = "drivers_job"
CALIBRATION_JOB = "zigzag_calibration_job"
ALL_JOB = "all_overlays_job"

MC_CALIBRATION_JOB = "mc_calibration_job"

# The calibrations are not date-partitioned: they run over the whole recorded history.
ZIGZAG_CALIBRATION_ASSETS = dg.AssetSelection.assets(
    *[dg.AssetKey([spec.key_prefix, "zigzag_calibration"]) for spec in INSTRUMENTS]
)
MC_CALIBRATION_ASSETS = dg.AssetSelection.assets(
    *[dg.AssetKey([spec.key_prefix, "mc_calibration"]) for spec in INSTRUMENTS]
)
HIT_RATE_JOB = "checklist_hit_rate_job"
HIT_RATE_ASSETS = dg.AssetSelection.assets(
    *[dg.AssetKey([spec.key_prefix, "checklist_hit_rate"]) for spec in INSTRUMENTS if spec.audience == "shared"]
)
CALIBRATION_ASSETS = ZIGZAG_CALIBRATION_ASSETS | MC_CALIBRATION_ASSETS | HIT_RATE_ASSETS


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
            name=CALIBRATION_JOB,
            selection=ZIGZAG_CALIBRATION_ASSETS,
            description="Sweep the zig-zag k per instrument on its recorded history; store the choice.",
        ),
        dg.define_asset_job(
            name=HIT_RATE_JOB,
            selection=HIT_RATE_ASSETS,
            description="Procurement cost per checklist verdict vs an equal-time buyer, on the stored checklist history.",
        ),
        dg.define_asset_job(
            name=MC_CALIBRATION_JOB,
            selection=MC_CALIBRATION_ASSETS,
            description="Backtest the Monte-Carlo tap probabilities out of sample; store Brier scores and the VIX weight.",
        ),
        dg.define_asset_job(
            name=ALL_JOB,
            selection=dg.AssetSelection.all() - CALIBRATION_ASSETS,
            partitions_def=trading_day_partitions,
            description="The shared drivers and every instrument family, for a date or range.",
        ),
    ]
    jobs += [
        dg.define_asset_job(
            name=instrument_job_name(spec),
            selection=dg.AssetSelection.groups(spec.key_prefix) - CALIBRATION_ASSETS,
            partitions_def=trading_day_partitions,
            description=f"The {spec.symbol} family (sessions, bars, fib levels) for a date or range.",
        )
        for spec in INSTRUMENTS
    ]
    return jobs
