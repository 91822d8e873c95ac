"""Fibonacci retracement and extension ladder of one confirmed leg, snapped to the tick.

Convention
----------
A leg runs from its ORIGIN to its END: an up leg from ``anchor_low`` to ``anchor_high``, a down
leg from ``anchor_high`` to ``anchor_low``. With ``range = anchor_high - anchor_low``:

* Retracements (``RETRACEMENTS`` = 0.236, 0.382, 0.5, 0.618, 0.786) are measured back from the
  leg's END toward its ORIGIN:
  up leg ``fib_r = anchor_high - r * range``; down leg ``fib_r = anchor_low + r * range``.
  So ``fib_236`` is nearest the end and ``fib_786`` nearest the origin.
* Extensions (``EXTENSIONS`` = 1.272, 1.618) project from the leg's ORIGIN in the leg's
  direction, beyond its end: up leg ``ext_e = anchor_low + e * range``; down leg
  ``ext_e = anchor_high - e * range``.
* Every level is snapped with :func:`snap_to_tick` (nearest multiple of the tick, exact halves
  away from zero). The anchors are reported as given (they are real closes).

Field names follow ``signals.fib_levels`` (SPEC section 1): ``fib_236, fib_382, fib_500,
fib_618, fib_786, ext_1272, ext_1618, tick_rounding``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Literal

__all__ = ["EXTENSIONS", "RETRACEMENTS", "FibLadder", "fib_ladder", "snap_to_tick"]

RETRACEMENTS: tuple[float, ...] = (0.236, 0.382, 0.5, 0.618, 0.786)
EXTENSIONS: tuple[float, ...] = (1.272, 1.618)

# A quotient within this many ticks of an exact half counts as the half (absorbs float noise such
# as 50.01 - 0.5 * 0.01 = 50.00499999999999...).
_HALF_TOLERANCE_TICKS = 1e-9


def _check_real(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _tick_decimals(tick: float) -> int:
    """Decimal places of the tick as written (0.01 -> 2, 0.25 -> 2, 0.03125 -> 5, 5.0 -> 0)."""
    exponent = Decimal(repr(tick)).normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def snap_to_tick(price: float, tick: float) -> float:
    """Nearest multiple of ``tick``, exact halves rounded away from zero.

    Parameters
    ----------
    price
        Finite price, price units.
    tick
        Finite tick size > 0, price units (e.g. 0.01 for ZL, 0.25 for MES).

    Returns
    -------
    float
        ``n * tick`` for the nearest integer ``n`` (``|price / tick|`` within 1e-9 of a half
        counts as the half), rounded to the tick's decimal places so float artefacts vanish
        (``snap_to_tick(0.1 + 0.2, 0.1) == 0.3``). Idempotent.

    Raises
    ------
    ValueError
        If ``price`` is not finite or ``tick`` is not finite and > 0.
    """
    p = _check_real(price, "price")
    t = _check_real(tick, "tick")
    if not t > 0:
        raise ValueError(f"tick must be > 0, got {tick!r}")
    q = p / t
    n = math.floor(abs(q) + 0.5 + _HALF_TOLERANCE_TICKS)
    if q < 0:
        n = -n
    snapped = round(n * t, _tick_decimals(t))
    return snapped + 0.0  # normalise -0.0 to 0.0


@dataclass(frozen=True)
class FibLadder:
    """Fib levels of one leg (price units; field names as in ``signals.fib_levels``)."""

    anchor_low: float
    anchor_high: float
    leg_dir: Literal["up", "down"]
    fib_236: float
    fib_382: float
    fib_500: float
    fib_618: float
    fib_786: float
    ext_1272: float
    ext_1618: float
    tick_rounding: float

    def to_dict(self) -> dict[str, float | str]:
        """Plain dict (column name -> value)."""
        return asdict(self)


def fib_ladder(anchor_low: float, anchor_high: float, leg_dir: str, tick: float) -> FibLadder:
    """Retracements and extensions of the leg ``anchor_low``..``anchor_high``.

    Parameters
    ----------
    anchor_low, anchor_high
        The leg's low and high closes, price units, ``anchor_low < anchor_high``.
    leg_dir
        ``'up'`` (low -> high) or ``'down'`` (high -> low).
    tick
        Instrument tick, price units (> 0); every level is snapped to it.

    Returns
    -------
    FibLadder
        Up leg: ``fib_r = high - r*(high-low)``, ``ext_e = low + e*(high-low)``.
        Down leg: ``fib_r = low + r*(high-low)``, ``ext_e = high - e*(high-low)``.
        All snapped with :func:`snap_to_tick`; ``tick_rounding = tick``.

    Raises
    ------
    ValueError
        On non-finite anchors, ``anchor_low >= anchor_high``, ``tick <= 0`` or another
        ``leg_dir``.
    """
    lo = _check_real(anchor_low, "anchor_low")
    hi = _check_real(anchor_high, "anchor_high")
    t = _check_real(tick, "tick")
    if not lo < hi:
        raise ValueError(f"anchor_low must be < anchor_high, got {anchor_low!r} >= {anchor_high!r}")
    if not t > 0:
        raise ValueError(f"tick must be > 0, got {tick!r}")
    if leg_dir not in ("up", "down"):
        raise ValueError(f"leg_dir must be 'up' or 'down', got {leg_dir!r}")
    rng = hi - lo
    if leg_dir == "up":
        rets = [snap_to_tick(hi - r * rng, t) for r in RETRACEMENTS]
        exts = [snap_to_tick(lo + e * rng, t) for e in EXTENSIONS]
    else:
        rets = [snap_to_tick(lo + r * rng, t) for r in RETRACEMENTS]
        exts = [snap_to_tick(hi - e * rng, t) for e in EXTENSIONS]
    return FibLadder(
        anchor_low=lo,
        anchor_high=hi,
        leg_dir="up" if leg_dir == "up" else "down",
        fib_236=rets[0],
        fib_382=rets[1],
        fib_500=rets[2],
        fib_618=rets[3],
        fib_786=rets[4],
        ext_1272=exts[0],
        ext_1618=exts[1],
        tick_rounding=t,
    )
