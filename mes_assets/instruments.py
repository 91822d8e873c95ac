"""InstrumentSpec: the only place instrument facts live (tick, multipliers, calendars, audience)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from dataclasses import dataclass
from typing import Literal

Audience = Literal["shared", "private"]


def history_start(symbol: str, recorded: dt.date) -> dt.date:
    """First date of bar history: ``MES_HISTORY_START_<SYMBOL>`` (ISO date) when set, else ``recorded``.

    The defaults are the first dates of the recorded sample; a deployment that holds a longer
    history (a live vendor, a longer recorded file) says so here, and partitions start there too.
    """
    name = f"MES_HISTORY_START_{symbol}"
    raw = os.environ.get(name, "").strip()
    if not raw:
        return recorded
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an ISO date (YYYY-MM-DD)") from None


@dataclass(frozen=True)
class InstrumentSpec:
    """Everything the asset factory needs to build one instrument's family of assets."""

    symbol: str
    description: str
    calendar_name: str  # pandas_market_calendars name of the futures exchange session
    rth_calendar_name: str | None  # calendar whose open/close bound RTH; None: the futures day session
    tick_size: float  # price units
    contract_multiplier: float  # USD per 1.0 of price
    price_unit: str
    bar_table: str  # where its recorded bars land
    bar_frequency: Literal["1m", "1d"]
    atr_bar: Literal["5m", "1d"]  # bar the zig-zag and its ATR14 run on (RTH closes)
    atr_period: int
    zigzag_k: float  # reversal threshold in ATRs (documented default until calibrated)
    mc_horizons: tuple[str, ...]
    options_multiplier: float
    audience: Audience
    source_symbol: str  # what the recorded replay actually holds (ES stands in for MES)
    cot_market_code: str  # CFTC contract market code
    history_start: dt.date  # first date of real bar history this deployment holds
    calibration_horizon_bars: int  # bars after confirmation in which a broken swing is "false"
    wall_reject_horizon: str  # horizon p_reject's z-score refers to (a mc_horizons name)
    zigzag_calibration_version: str | None = None  # None: zigzag_k is the documented default

    def with_calibrated_k(self, k: float, version: str) -> InstrumentSpec:
        """This spec with the zig-zag k chosen by a stored calibration."""
        return dataclasses.replace(self, zigzag_k=k, zigzag_calibration_version=version)

    @property
    def is_proxy(self) -> bool:
        return self.source_symbol != self.symbol

    @property
    def warehouse_key(self) -> str:
        """The Dagster resource this family writes through: privacy is structural."""
        return "warehouse" if self.audience == "shared" else "private_warehouse"

    @property
    def key_prefix(self) -> str:
        return self.symbol.lower()

    @property
    def price_source(self) -> str:
        return f"{self.source_symbol} proxy" if self.is_proxy else self.symbol


ZL = InstrumentSpec(
    symbol="ZL",
    description="CBOT soybean oil futures (procurement)",
    calendar_name="CBOT_Agriculture",
    rth_calendar_name=None,
    tick_size=0.01,
    contract_multiplier=600.0,  # 60,000 lb x $0.01 per cent/lb
    price_unit="US cents per lb",
    bar_table="market_data.databento_futures_ohlcv_1d",
    bar_frequency="1d",
    atr_bar="1d",
    atr_period=14,
    zigzag_k=3.0,
    mc_horizons=("1w", "1m"),
    options_multiplier=600.0,
    audience="shared",
    source_symbol="ZL",
    cot_market_code="007601",
    history_start=history_start("ZL", dt.date(2021, 12, 15)),
    calibration_horizon_bars=10,  # two trading weeks
    wall_reject_horizon="1w",  # a week for procurement
)

MES = InstrumentSpec(
    symbol="MES",
    description="CME Micro E-mini S&P 500 futures (private trading cockpit)",
    calendar_name="CME_Equity",
    rth_calendar_name="NYSE",  # the cash-index session; handles NYSE holidays and early closes
    tick_size=0.25,
    contract_multiplier=5.0,
    price_unit="index points",
    bar_table="market_data.databento_futures_ohlcv_1m",
    bar_frequency="1m",
    atr_bar="5m",
    atr_period=14,
    zigzag_k=3.0,
    mc_horizons=("5m", "15m", "60m"),
    options_multiplier=5.0,
    audience="private",
    source_symbol="ES",  # no MES minute history is recorded; ES has the same index and price scale
    cot_market_code="13874U",
    history_start=history_start("MES", dt.date(2023, 3, 8)),
    calibration_horizon_bars=12,  # one hour of 5-minute bars
    wall_reject_horizon="60m",  # an hour for the trading cockpit
)

INSTRUMENTS: tuple[InstrumentSpec, ...] = (ZL, MES)
BY_SYMBOL = {spec.symbol: spec for spec in INSTRUMENTS}


@dataclass(frozen=True)
class OptionsProduct:
    """The exchange and vendor names of the options on one futures symbol (CME Globex)."""

    futures_symbol: str
    databento_options_parent: str  # GLBX.MDP3 parent symbol of the options
    databento_futures_parent: str  # GLBX.MDP3 parent symbol of the underlying futures
    cme_option_products: tuple[str, ...]  # "product" values of option rows in CME settlement files
    cme_futures_product: str  # "product" value of the underlying futures rows
    multiplier: float  # USD per 1.0 of the underlying futures price, per option contract
    description: str


#: Futures symbol -> its options. Globex codes: ZL's options trade as OZL, not ZL.
OPTIONS_PRODUCTS: dict[str, OptionsProduct] = {
    "ES": OptionsProduct(
        "ES",
        "ES.OPT",
        "ES.FUT",
        ("ES",),
        "ES",
        50.0,
        "CME E-mini S&P 500 quarterly options (Globex ES): one ES future, $50 x index point",
    ),
    "MES": OptionsProduct(
        "MES",
        "MES.OPT",
        "MES.FUT",
        ("MES",),
        "MES",
        5.0,
        "CME Micro E-mini S&P 500 quarterly options (Globex MES): one MES future, $5 x index point",
    ),
    "ZL": OptionsProduct(
        "ZL",
        "OZL.OPT",
        "ZL.FUT",
        ("OZL",),
        "ZL",
        600.0,
        "CBOT soybean oil options (Globex OZL): one ZL future of 60,000 lb quoted in cents/lb, $600 per 1 cent",
    ),
}
