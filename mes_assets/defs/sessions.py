"""dim.exchange_sessions per instrument, from its exchange calendar."""

import dagster as dg

from mes_assets.defs._slices import family_asset, instrument_warehouse, slice_metadata, weekdays
from mes_assets.defs.partitions import partition_dates
from mes_assets.instruments import InstrumentSpec
from mes_assets.market.calendars import exchange_sessions

TABLE = "dim.exchange_sessions"


def build_sessions_asset(spec: InstrumentSpec) -> dg.AssetsDefinition:
    @family_asset(
        spec,
        "exchange_sessions",
        kinds={"bigquery", "pandas"},
        description=f"{spec.symbol} trading sessions and RTH windows from {spec.calendar_name}.",
    )
    def _sessions(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        start, end = partition_dates(context)
        frame = exchange_sessions(spec, start, end)
        warehouse = instrument_warehouse(context, spec)
        warehouse.replace_slice(TABLE, frame, start=start, end=end, symbol=spec.symbol)
        days = weekdays(start, end)
        counts = {"session": frame.height, "no_session": len(days) - frame.height}
        return dg.MaterializeResult(
            metadata=slice_metadata(TABLE, frame, start, end, counts, {"calendar": spec.calendar_name})
        )

    return _sessions
