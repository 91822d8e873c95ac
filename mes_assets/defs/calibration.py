"""signals.zigzag_calibration: the k sweep on the instrument's whole recorded history."""

import dagster as dg

from mes_assets.defs._slices import instrument_warehouse, now_utc
from mes_assets.instruments import InstrumentSpec
from mes_assets.levels.fibonacci import RTH_BARS_SQL
from mes_assets.levels.k_calibration import RULE, TABLE, calibrate, curve_text
from mes_assets.market.calendars import exchange_sessions
from mes_assets.warehouse.sql_files import read_sql


def build_calibration_asset(spec: InstrumentSpec, bars_asset: dg.AssetsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name="zigzag_calibration",
        key_prefix=[spec.key_prefix],
        group_name=spec.key_prefix,
        deps=[bars_asset],
        required_resource_keys={spec.warehouse_key},
        pool="warehouse",
        kinds={"bigquery", "numba"},
        description=f"{spec.symbol} zig-zag k sweep: false-signal rate vs confirmation lag; {RULE}.",
    )
    def _calibration(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        warehouse = instrument_warehouse(context, spec)
        end = now_utc().date()
        params = {"symbol": spec.symbol, "start_date": spec.history_start, "end_date": end}
        bars = warehouse.read(read_sql(RTH_BARS_SQL[spec.atr_bar]), params)
        if bars.is_empty():
            raise dg.Failure(f"no {spec.symbol} bars recorded yet: materialize its bars first")
        sessions = exchange_sessions(spec, spec.history_start, end)["date"].to_list()
        rows, choice, points = calibrate(spec, bars, sessions, now_utc())
        day = rows["date"][0]
        warehouse.replace_slice(TABLE, rows, start=day, end=day, symbol=spec.symbol)
        return dg.MaterializeResult(
            metadata={
                "table": TABLE,
                "dagster/row_count": rows.height,
                "status": choice.status,
                "chosen_k": choice.k if choice.k is not None else "none (default k kept)",
                "reason": choice.reason,
                "calibration_version": rows["calibration_version"][0],
                "history": f"{rows['history_start'][0]}..{rows['history_end'][0]} ({bars.height} bars)",
                "curve": dg.MetadataValue.md(curve_text(points)),
            }
        )

    return _calibration
