"""What each dashboard shows: its view, audience, horizons and whether it may record tickets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mes_assets.instruments import MES, ZL, InstrumentSpec

FIB_TAGS: tuple[tuple[str, str], ...] = (
    ("fib_236", "23.6%"),
    ("fib_382", "38.2%"),
    ("fib_500", "50.0%"),
    ("fib_618", "61.8%"),
    ("fib_786", "78.6%"),
    ("ext_1272", "127.2%"),
    ("ext_1618", "161.8%"),
)
GAMMA_TAGS: tuple[tuple[str, str, str | None], ...] = (
    # (view column of the level, tap tag, view column of its rejection probability)
    ("zero_gamma", "zero_gamma", None),
    ("wall_1", "gamma_wall_1", "p_reject_wall_1"),
    ("wall_2", "gamma_wall_2", "p_reject_wall_2"),
)
FORCE_GROUPS: tuple[tuple[str, str], ...] = (
    ("vix", "VIX"),
    ("yield", "Yield"),
    ("trump", "Trump/Policy"),
    ("cot", "COT"),
)
# (view column, label) of the six lights, in SPEC section 5 order.
CHECKS: tuple[tuple[str, str], ...] = (
    ("check_model_health", "Model health"),
    ("check_regime_valid", "Regime"),
    ("check_budget_risk", "Budget risk"),
    ("check_confluence", "Confluence"),
    ("check_positioning", "Positioning"),
    ("check_vol_sanity", "Vol sanity"),
)


@dataclass(frozen=True)
class PageSpec:
    """One dashboard app: everything that differs between procurement and the MES cockpit."""

    key: Literal["procurement", "mes"]
    title: str
    instrument: InstrumentSpec
    view: str  # the only overlay it reads
    overlay_query: str  # the named query reading it (mes_assets/sql/queries/)
    band_horizons: tuple[str, ...]  # band_<h>_p10..p90 columns, widest horizon last
    tap_horizons: tuple[str, ...]  # tap_<h>_<tag> columns
    force_horizon: str  # horizon the force lines explain
    default_port: int
    can_execute: bool  # EXECUTE records procurement tickets (procurement only)

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    @property
    def audience(self) -> Literal["shared", "private"]:
        return self.instrument.audience


PROCUREMENT_PAGE = PageSpec(
    key="procurement",
    title="ZL procurement overlay",
    instrument=ZL,
    view="api.vw_zl_strategy_overlay",
    overlay_query="overlay_zl",
    band_horizons=("1w", "1m"),
    tap_horizons=("1w", "1m"),
    force_horizon="1w",
    default_port=8050,
    can_execute=True,
)

MES_PAGE = PageSpec(
    key="mes",
    title="MES private cockpit",
    instrument=MES,
    view="api.vw_mes_private_overlay",
    overlay_query="overlay_mes",
    band_horizons=("60m",),
    tap_horizons=("5m", "15m", "60m"),
    force_horizon="60m",
    default_port=8051,
    can_execute=False,
)

PAGES = {page.key: page for page in (PROCUREMENT_PAGE, MES_PAGE)}
