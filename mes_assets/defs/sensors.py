"""zigzag_confirmation_sensor: refresh fib levels when a new zig-zag pivot is confirmed.

Per instrument it reads the RTH bars newer than its cursor, advances the zig-zag from the stored
state (never from scratch once initialised) and, for each newly confirmed pivot, requests that
session's partition of fib_levels and everything downstream of it. run_key = symbol + pivot time,
so re-evaluating never launches a duplicate. The cursor is JSON, one entry per symbol.
"""

import datetime as dt
import json
from collections.abc import Sequence

import dagster as dg

from mes_assets.defs._slices import calibrated_spec
from mes_assets.defs.resources import WarehouseResource
from mes_assets.instruments import INSTRUMENTS, InstrumentSpec
from mes_assets.levels.fibonacci import RTH_BARS_SQL
from mes_assets.levels.zigzag_tracker import ConfirmedPivot, TrackerState, advance, fresh_state
from mes_assets.market.calendars import exchange_sessions
from mes_assets.warehouse.base import WarehouseBackend
from mes_assets.warehouse.sql_files import read_sql

SENSOR_NAME = "zigzag_confirmation_sensor"


def _new_bars(spec: InstrumentSpec, warehouse: WarehouseBackend, since: dt.date, until: dt.date):
    params = {"symbol": spec.symbol, "start_date": since, "end_date": until}
    return warehouse.read(read_sql(RTH_BARS_SQL[spec.atr_bar]), params)


def step_instrument(
    spec: InstrumentSpec, warehouse: WarehouseBackend, state: TrackerState | None, today: dt.date
) -> tuple[list[ConfirmedPivot], TrackerState, str]:
    """One sensor tick for one instrument: (new pivots, new state, a line for the skip reason)."""
    spec = calibrated_spec(spec, warehouse)
    if state is not None and (state.k, state.calibration_version) != (spec.zigzag_k, spec.zigzag_calibration_version):
        state = None  # k changed (new calibration): rebuild rather than mix two thresholds
    since = state.last_session_date if state and state.last_session_date else spec.history_start
    bars = _new_bars(spec, warehouse, since, today)
    sessions = exchange_sessions(spec, since, today)["date"].to_list()
    if state is None:
        # First evaluation: catch up on recorded history silently; only later pivots are news.
        _, state = advance(
            spec.symbol, fresh_state(spec.zigzag_k, spec.zigzag_calibration_version), bars, sessions, spec.atr_period
        )
        return [], state, f"{spec.symbol}: cursor initialised through {state.last_bar_end}"
    before = state.next_bar_index
    pivots, state = advance(spec.symbol, state, bars, sessions, spec.atr_period)
    consumed = state.next_bar_index - before
    return pivots, state, f"{spec.symbol}: {consumed} new bar(s) through {state.last_bar_end}"


def downstream_keys(root: dg.AssetKey, assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetKey]:
    """``root`` and every date-partitioned asset downstream of it (Dagster's own graph walk).
    Whole-history assets (the calibrations, the hit-rate) are not refreshed per session: they run
    on their own."""
    partitioned = [key for a in assets if a.partitions_def is not None for key in a.keys]
    selection = dg.AssetSelection.assets(root).downstream() & dg.AssetSelection.assets(*partitioned)
    return sorted(selection.resolve(assets), key=lambda key: (key != root, key.to_user_string()))


def build_zigzag_sensor(assets: Sequence[dg.AssetsDefinition]) -> dg.SensorDefinition:
    targets = {
        spec.symbol: downstream_keys(dg.AssetKey([spec.key_prefix, "fib_levels"]), assets) for spec in INSTRUMENTS
    }

    @dg.sensor(
        name=SENSOR_NAME,
        minimum_interval_seconds=60,
        asset_selection=[key for keys in targets.values() for key in keys],
        description="Requests fib_levels (and downstream) for the session of each newly confirmed pivot.",
    )
    def _sensor(
        context: dg.SensorEvaluationContext,
        warehouse: WarehouseResource,
        private_warehouse: WarehouseResource,
    ) -> dg.SensorResult:
        by_audience = {"warehouse": warehouse, "private_warehouse": private_warehouse}
        cursor = json.loads(context.cursor) if context.cursor else {}
        today = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
        requests, notes = [], []
        for spec in INSTRUMENTS:
            resource = by_audience[spec.warehouse_key]
            state = TrackerState.from_dict(cursor[spec.symbol]) if spec.symbol in cursor else None
            with resource.ensure_schema().session() as backend:
                pivots, state, note = step_instrument(spec, backend, state, today)
            cursor[spec.symbol] = state.to_dict()
            notes.append(note)
            requests += [
                dg.RunRequest(
                    run_key=pivot.run_key,
                    partition_key=pivot.session_date.isoformat(),
                    asset_selection=targets[spec.symbol],
                    tags={
                        "zigzag/symbol": pivot.symbol,
                        "zigzag/pivot": f"{pivot.kind} {pivot.pivot_price} at {pivot.pivot_time.isoformat()}",
                        "zigzag/confirmed_at": pivot.confirmed_at.isoformat(),
                    },
                )
                for pivot in pivots
            ]
        new_cursor = json.dumps(cursor, sort_keys=True)
        if requests:
            return dg.SensorResult(run_requests=requests, cursor=new_cursor)
        return dg.SensorResult(
            skip_reason=dg.SkipReason("no new confirmed pivot; " + "; ".join(notes)),
            cursor=new_cursor,
        )

    return _sensor
