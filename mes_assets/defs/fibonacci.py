"""signals.fib_levels: the Fibonacci ladder of the last confirmed zig-zag leg, per session."""

import dagster as dg
import polars as pl

from mes_assets.defs._slices import (
    calibrated_spec,
    family_asset,
    family_key,
    instrument_warehouse,
    slice_metadata,
    weekdays,
)
from mes_assets.defs.partitions import partition_dates
from mes_assets.instruments import InstrumentSpec
from mes_assets.levels.checks import fib_level_violations, leg_dir_mismatches
from mes_assets.levels.fibonacci import RTH_BARS_SQL, compute_fib_levels
from mes_assets.market.calendars import exchange_sessions
from mes_assets.warehouse.queries import query
from mes_assets.warehouse.sql_files import read_sql

TABLE = "signals.fib_levels"
CHECKS = (
    "retracements_between_anchors",
    "retracements_ordered_by_ratio",
    "levels_on_tick",
    "extensions_beyond_leg_end",
    "leg_at_least_k_atr",
    "leg_dir_consistent",
)


def _check_results(stored: pl.DataFrame, bars: pl.DataFrame) -> list[dg.AssetCheckResult]:
    """Every invariant, evaluated on the rows as stored (read back), not as computed."""
    failures = fib_level_violations(stored)
    failures["leg_dir_consistent"] = pl.concat(
        [failures["leg_dir_consistent"].select("date"), leg_dir_mismatches(stored, bars).select("date")]
    ).unique()
    return [
        dg.AssetCheckResult(
            check_name=name,
            passed=bool(failures[name].is_empty()),
            metadata={
                "rows_checked": stored.height,
                "failing_rows": failures[name].height,
                "first_failing_dates": ", ".join(str(d) for d in failures[name]["date"].head(5)),
            },
        )
        for name in CHECKS
    ]


def build_fib_asset(spec: InstrumentSpec, upstream: list[dg.AssetsDefinition]) -> dg.AssetsDefinition:
    key = family_key(spec, "fib_levels")

    @family_asset(
        spec,
        "fib_levels",
        kinds={"bigquery", "numba"},
        deps=upstream,
        check_specs=[dg.AssetCheckSpec(name, asset=key) for name in CHECKS],
        description=(
            f"{spec.symbol} Fibonacci ladder of the last confirmed zig-zag leg "
            f"(k x ATR{spec.atr_period} on {spec.atr_bar} RTH bars; k calibrated or default), tick-snapped."
        ),
    )
    def _fib_levels(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        start, end = partition_dates(context)
        warehouse = instrument_warehouse(context, spec)
        effective = calibrated_spec(spec, warehouse)
        params = {"symbol": spec.symbol, "start_date": spec.history_start, "end_date": end}
        bars = warehouse.read(read_sql(RTH_BARS_SQL[spec.atr_bar]), params)
        # Sessions straight from the calendar: history never ingested reads as a hole, and the
        # zig-zag restarts after it instead of bridging it.
        sessions = exchange_sessions(spec, spec.history_start, end)
        run = compute_fib_levels(effective, bars, sessions["date"].to_list(), weekdays(start, end))
        warehouse.replace_slice(TABLE, run.rows, start=start, end=end, symbol=spec.symbol)
        stored = warehouse.read(
            query("fib_levels_between"),
            {"symbol": spec.symbol, "start_date": start, "end_date": end},
        )
        extra: dict = {
            "zigzag_k": effective.zigzag_k,
            "k_source": effective.zigzag_calibration_version or "documented default (uncalibrated)",
            "price_source": spec.price_source,
            "history_segments": run.segments,
            "zigzag_history_from": str(run.history_from),
        }
        if run.rows.height:
            last = run.rows.row(-1, named=True)
            extra["last_leg"] = (
                f"{last['leg_dir']} {last['anchor_low']}-{last['anchor_high']} confirmed {last['confirmed_at']}"
            )
        return dg.MaterializeResult(
            metadata=slice_metadata(TABLE, run.rows, start, end, run.counts(), extra),
            check_results=_check_results(stored, bars),
        )

    return _fib_levels
