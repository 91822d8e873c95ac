"""signals.fib_levels: the Fibonacci ladder of the last confirmed zig-zag leg, per session."""


import dagster as dg

from mes_assets.assets._slices import instrument_warehouse, slice_metadata, weekdays
from mes_assets.calendars import exchange_sessions
from mes_assets.fibonacci import compute_fib_levels
from mes_assets.instruments import InstrumentSpec
from mes_assets.partitions import partition_dates, trading_day_partitions
from mes_assets.warehouse.sql_files import read_sql

TABLE = "signals.fib_levels"
RTH_BARS_SQL = {"5m": "transforms/rth_bars_5m.sql", "1d": "transforms/rth_bars_1d.sql"}


def build_fib_asset(spec: InstrumentSpec, upstream: list[dg.AssetsDefinition]) -> dg.AssetsDefinition:
    @dg.asset(
        name="fib_levels",
        key_prefix=[spec.key_prefix],
        group_name=spec.key_prefix,
        deps=upstream,
        partitions_def=trading_day_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        required_resource_keys={spec.warehouse_key},
        pool="warehouse",
        kinds={"bigquery", "numba"},
        description=(
            f"{spec.symbol} Fibonacci ladder of the last confirmed zig-zag leg "
            f"({spec.zigzag_k:g} x ATR{spec.atr_period}, {spec.atr_bar} RTH bars), tick-snapped."
        ),
    )
    def _fib_levels(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        start, end = partition_dates(context)
        warehouse = instrument_warehouse(context, spec)
        params = {"symbol": spec.symbol, "start_date": spec.history_start, "end_date": end}
        bars = warehouse.read(read_sql(RTH_BARS_SQL[spec.atr_bar]), params)
        # Sessions straight from the calendar: history never ingested reads as a hole, and the
        # zig-zag restarts after it instead of bridging it.
        sessions = exchange_sessions(spec, spec.history_start, end)
        run = compute_fib_levels(spec, bars, sessions["date"].to_list(), weekdays(start, end))
        warehouse.replace_slice(TABLE, run.rows, start=start, end=end, symbol=spec.symbol)
        extra: dict = {"zigzag_k": spec.zigzag_k, "price_source": spec.price_source,
                       "history_segments": run.segments,
                       "zigzag_history_from": str(run.history_from)}
        if run.rows.height:
            last = run.rows.row(-1, named=True)
            extra["last_leg"] = (
                f"{last['leg_dir']} {last['anchor_low']}-{last['anchor_high']} "
                f"confirmed {last['confirmed_at']}"
            )
        return dg.MaterializeResult(
            metadata=slice_metadata(TABLE, run.rows, start, end, run.counts(), extra)
        )

    return _fib_levels
