"""market_data.databento_futures_ohlcv_1m / _1d: recorded bars, each assigned to its session."""

import datetime as dt

import dagster as dg
import polars as pl

from mes_assets.defs._slices import (
    family_asset,
    family_key,
    instrument_warehouse,
    now_utc,
    read_sessions,
    slice_metadata,
    weekdays,
)
from mes_assets.defs.partitions import partition_dates
from mes_assets.instruments import InstrumentSpec
from mes_assets.market.bars import (
    assign_minute_bars_to_sessions,
    daily_bars_table_frame,
    minute_bars_table_frame,
)


def bars_asset_name(spec: InstrumentSpec) -> str:
    return f"futures_ohlcv_{spec.bar_frequency}"


def _ingest_minute(spec, source, sessions: pl.DataFrame) -> tuple[pl.DataFrame, dict]:
    window_start = sessions["session_open"].min()
    window_end = sessions["session_close"].max()
    raw = source.minute_bars(spec.source_symbol, window_start, window_end)
    tagged, orphans = assign_minute_bars_to_sessions(raw, sessions)
    frame = minute_bars_table_frame(spec, tagged, now_utc())
    extra = {
        "bars_outside_sessions": orphans.height,
        "bars_outside_sessions_dates": ", ".join(sorted({str(t.date()) for t in orphans["ts_event"].head(50)})),
        "first_bar": str(frame["ts_event"].min()) if frame.height else "none",
        "last_bar": str(frame["ts_event"].max()) if frame.height else "none",
    }
    return frame, extra


def _ingest_daily(spec, source, sessions: pl.DataFrame, start: dt.date, end: dt.date) -> tuple[pl.DataFrame, dict]:
    raw = source.daily_bars(spec.source_symbol, start, end)
    frame, orphans = daily_bars_table_frame(spec, raw, sessions["date"], now_utc())
    extra = {
        "bars_outside_sessions": orphans.height,
        "bars_outside_sessions_dates": ", ".join(str(d) for d in orphans["date"].head(10)),
    }
    return frame, extra


ORPHAN_CHECK = "bars_inside_calendar_sessions"


def _orphan_check(extra: dict) -> dg.AssetCheckResult:
    """Recorded bars the exchange calendar has no session for: a calendar gap or a data error."""
    orphans = int(extra.get("bars_outside_sessions", 0))
    return dg.AssetCheckResult(
        check_name=ORPHAN_CHECK,
        passed=orphans == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"bars_outside_sessions": orphans, "dates": str(extra.get("bars_outside_sessions_dates", ""))},
    )


def build_bars_asset(spec: InstrumentSpec, sessions_asset: dg.AssetsDefinition) -> dg.AssetsDefinition:
    key = family_key(spec, bars_asset_name(spec))

    @family_asset(
        spec,
        bars_asset_name(spec),
        kinds={"bigquery", "polars"},
        deps=[sessions_asset],
        extra_resources=("recorded_data",),
        check_specs=[
            dg.AssetCheckSpec(
                ORPHAN_CHECK,
                asset=key,
                description="Every recorded bar falls in an exchange session (else: fix the calendar "
                "in mes_assets/market/calendars.py SESSION_CORRECTIONS, or the data).",
            )
        ],
        description=f"Recorded {spec.bar_frequency} bars for {spec.symbol} ({spec.price_source}), by session.",
    )
    def _bars(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        start, end = partition_dates(context)
        warehouse = instrument_warehouse(context, spec)
        sessions = read_sessions(warehouse, spec.symbol, start, end)
        source = context.resources.recorded_data.market_data()
        if sessions.is_empty():
            frame, extra = pl.DataFrame(), dict[str, object](bars_outside_sessions=0)
        elif spec.bar_frequency == "1m":
            frame, extra = _ingest_minute(spec, source, sessions)
        else:
            frame, extra = _ingest_daily(spec, source, sessions, start, end)
        warehouse.replace_slice(spec.bar_table, frame, start=start, end=end, symbol=spec.symbol)
        with_bars = frame["date"].n_unique() if frame.height else 0
        counts = {
            "with_bars": with_bars,
            "session_without_bars": sessions.height - with_bars,
            "no_session": len(weekdays(start, end)) - sessions.height,
        }
        extra |= {"price_source": spec.price_source, "is_proxy": spec.is_proxy}
        return dg.MaterializeResult(
            metadata=slice_metadata(spec.bar_table, frame, start, end, counts, extra),
            check_results=[_orphan_check(extra)],
        )

    return _bars
