"""The forecast vocabulary: one :class:`Horizon` type and one quantile set for the whole project.

A horizon's name is what the tables store (``horizon`` columns). ``"1m"`` is a MONTH (21 trading
sessions, ZL); minute horizons are ``"5m"``, ``"15m"``, ``"60m"`` (MES). The names are unique, so
a name alone says which is meant; :func:`horizon` is the only lookup and refuses unknown names.

Time: a trading year is 252 sessions; an RTH session is 390 minutes (CME equity index RTH,
09:30-16:00 ET), so annualised vols (VIX, implied vols) are per sqrt(trading year) everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mes_assets.kernels.quantile_levels import QUANTILE_LEVELS

__all__ = [
    "CALENDAR_DAYS_PER_YEAR",
    "HORIZONS",
    "QUANTILES",
    "QUANTILE_LEVELS",
    "RTH_MINUTES",
    "TRADING_DAYS_PER_YEAR",
    "Horizon",
    "horizon",
]

TRADING_DAYS_PER_YEAR = 252.0
RTH_MINUTES = 390.0
CALENDAR_DAYS_PER_YEAR = 365.0  # option time to expiry: ACT/365

QUANTILES: tuple[str, ...] = tuple(f"p{round(level * 100)}" for level in QUANTILE_LEVELS)
"""Column names of :data:`QUANTILE_LEVELS`: ``p10, p25, p50, p75, p90``."""


@dataclass(frozen=True)
class Horizon:
    """A forecast horizon: ``length`` sessions (daily instruments) or RTH minutes (intraday)."""

    name: str
    unit: Literal["sessions", "minutes"]
    length: int

    @property
    def is_intraday(self) -> bool:
        return self.unit == "minutes"

    @property
    def units_per_year(self) -> float:
        """Sessions or RTH minutes in one trading year."""
        return TRADING_DAYS_PER_YEAR * RTH_MINUTES if self.is_intraday else TRADING_DAYS_PER_YEAR

    @property
    def years(self) -> float:
        """The horizon in years of trading time."""
        return self.length / self.units_per_year

    @property
    def sessions(self) -> int:
        """Trading sessions of a daily horizon (``1w`` = 5, ``1m`` = 21)."""
        if self.is_intraday:
            raise ValueError(f"horizon {self.name} is {self.length} minutes, not a number of sessions")
        return self.length

    def bars(self, bar_minutes: int) -> int:
        """Bars of ``bar_minutes`` in an intraday horizon (``15m``: 3 five-minute bars, 15 one-minute)."""
        if not self.is_intraday:
            raise ValueError(f"horizon {self.name} is {self.length} sessions, not minute bars")
        if bar_minutes <= 0 or self.length % bar_minutes:
            raise ValueError(
                f"horizon {self.name} ({self.length} minutes) is not a whole number of {bar_minutes}-minute bars"
            )
        return self.length // bar_minutes

    @property
    def time_unit(self) -> str:
        """The unit of expected times to touch: ``trading_days`` or ``minutes``."""
        return "minutes" if self.is_intraday else "trading_days"


HORIZONS: dict[str, Horizon] = {
    h.name: h
    for h in (
        Horizon("1w", "sessions", 5),
        Horizon("1m", "sessions", 21),
        Horizon("5m", "minutes", 5),
        Horizon("15m", "minutes", 15),
        Horizon("60m", "minutes", 60),
    )
}


def horizon(name: str) -> Horizon:
    """The horizon called ``name``; ValueError naming the known ones otherwise."""
    try:
        return HORIZONS[name]
    except KeyError:
        raise ValueError(f"unknown horizon {name!r}; known: {', '.join(HORIZONS)}") from None
