"""One family of assets per instrument, all built the same way."""


import dagster as dg

from mes_assets.assets.fibonacci import build_fib_asset
from mes_assets.assets.market_data import build_bars_asset
from mes_assets.assets.sessions import build_sessions_asset
from mes_assets.instruments import InstrumentSpec


def instrument_assets(spec: InstrumentSpec) -> list[dg.AssetsDefinition]:
    sessions = build_sessions_asset(spec)
    bars = build_bars_asset(spec, sessions)
    fib = build_fib_asset(spec, [bars, sessions])
    return [sessions, bars, fib]
