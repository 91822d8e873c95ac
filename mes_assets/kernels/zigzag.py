"""Causal, resumable ATR zig-zag on closes (reversal threshold ``k * atr[t]``).

Exact definition
----------------
Inputs are closes ``close[t]`` (price units), a per-bar ATR ``atr[t]`` (price units, NaN allowed
during its warm-up) and a multiplier ``k > 0``. Bar indices are *global*: chunk element ``j`` is
bar ``offset + j``.

* **Start.** The algorithm starts at the first bar with a finite ``atr``; earlier bars are
  ignored entirely. After the start, a bar with NaN ``atr`` still updates the extremes below but
  cannot confirm anything.
* **Ties** always keep the EARLIER index (an extreme moves only on a strictly better close).
* **Reversal test.** A reversal at bar ``t`` needs a move ``m`` with ``m > 0`` and
  ``m >= k * atr[t]`` (``m`` and ``k * atr[t]`` are computed exactly like that in float64).
  ``m > 0`` only matters when ``atr[t] == 0``; it guarantees the confirmed pivot lies strictly
  before ``t``.
* **Mode 0 (no pivot yet).** Track the running max and running min of the closes since the
  start (close and index). At bar ``t``, after updating them with ``close[t]``:
  if ``close[t] - runmin >= k*atr[t]`` -> confirm a LOW pivot at runmin's index (confirmation
  index ``t``), mode UP; elif ``runmax - close[t] >= k*atr[t]`` -> confirm a HIGH pivot at
  runmax's index, mode DOWN. (The LOW test wins when both hold.)
* **Mode UP (last confirmed pivot is a low).** Candidate high = max close strictly after the last
  pivot index up to ``t`` (updated with ``close[t]`` first). If
  ``cand_high - close[t] >= k*atr[t]`` -> confirm a HIGH pivot at the candidate's index,
  confirmation index ``t``, switch to DOWN with the new candidate low = min close strictly after
  the new pivot index up to and including ``t``. **Mode DOWN** is the mirror image.
* At most one pivot is confirmed per bar: after a switch at ``t`` the new candidate is first
  tested at ``t + 1``.

Outputs: the confirmed pivots (``pivot_index``, ``pivot_price`` = ``close[pivot_index]``,
``pivot_kind`` +1 high / -1 low, ``confirm_index``, ``atr_at_confirm`` = ``atr[confirm_index]``)
in confirmation order, plus the provisional extreme at the end (the current candidate in mode
UP/DOWN; index -1, price NaN, kind 0 in mode 0).

Guarantees (tested): kinds strictly alternate; ``confirm_index > pivot_index``; both index arrays
strictly increase; a pivot depends only on bars ``<= confirm_index`` (causal, append-stable:
adding bars never changes an already confirmed pivot); every leg ``i -> i+1`` has
``|price[i+1] - price[i]| >= k * atr_at_confirm[i]`` (the ATR where the leg's ORIGIN was
confirmed); pivot ``i`` is the extreme close over ``[pivot_index[i-1], confirm_index[i]]``.
When ``atr`` is non-increasing after the start (e.g. constant) pivot ``i`` is also the extreme
over ``[pivot_index[i-1], pivot_index[i+1]]``; with a *rising* ATR a later close may exceed a
confirmed high without confirming the low in between (the bar's threshold grew), so that
neighbour property is not part of the contract.

Why the leg bound holds: say pivot ``i`` is a low ``L`` confirmed at ``t_i``, so
``close[t_i] - L >= k*atr[t_i]``. The next pivot is the max close over ``(pivot_index[i],
confirm_index[i+1]]``, a range that contains ``t_i``; hence it is ``>= close[t_i]`` and the leg is
``>= k*atr[t_i]``. Highs are the mirror image.

Resumability
------------
"Min close strictly after the new pivot up to ``t``" needs history; a fixed handful of scalars is
not enough when the ATR varies (each switch may promote an older sub-extreme). The state
therefore keeps, per tracked side, the chain of alternating suffix extremes: level 0 is the
candidate (max for the high chain), level 1 the min strictly after level 0 up to the latest bar,
level 2 the max strictly after level 1, and so on; the last level is always the latest bar.
A switch confirms level 0 and the rest of the chain becomes the opposite side's chain. Chains
are updated as monotone stacks (amortised O(1) per bar) and stay short in practice (prices of
even levels are nested inside each other, odd levels likewise).
Running on ``bars[0:n]`` and resuming on ``bars[n:m]`` with the returned state gives exactly the
pivots of one run on ``bars[0:m]``. :class:`ZigZagState` converts to and from a strict-JSON dict
(e.g. a Dagster sensor cursor); it remembers ``k`` and the next expected global index and the
wrapper refuses to resume with another ``k`` or a gap/overlap.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from mes_assets.kernels._numba import jit
from mes_assets.kernels.types import ArrayLike, FloatArray, Int8Array, IntArray

__all__ = [
    "HIGH",
    "LOW",
    "ZigZagLeg",
    "ZigZagPivots",
    "ZigZagState",
    "initial_state",
    "last_confirmed_leg",
    "zigzag",
]

HIGH: int = 1
"""``pivot_kind`` of a swing high."""
LOW: int = -1
"""``pivot_kind`` of a swing low."""

_MODE_SEARCH = 0
_MODE_UP = 1  # last confirmed pivot is a low; candidate is a high (chain 0)
_MODE_DOWN = -1  # last confirmed pivot is a high; candidate is a low (chain 1)
_STATE_VERSION = 1


# --------------------------------------------------------------------------------------------
# kernel
# --------------------------------------------------------------------------------------------
def _kernel_py(
    close: FloatArray,
    atr: FloatArray,
    k: float,
    offset: int,
    mode: int,
    ch_idx: IntArray,
    ch_px: FloatArray,
    ch_len: IntArray,
    last_idx: int,
    last_px: float,
    out_pivot_index: IntArray,
    out_pivot_price: FloatArray,
    out_pivot_kind: Int8Array,
    out_confirm_index: IntArray,
    out_atr_at_confirm: FloatArray,
) -> tuple[int, int, int, float]:
    """Advance the zig-zag over one chunk (inputs trusted, see the module docstring).

    Parameters
    ----------
    close, atr
        Chunk closes and ATR (price units), equal length ``n``.
    k
        Reversal multiplier (> 0, dimensionless).
    offset
        Global index of ``close[0]``.
    mode
        0 search, +1 UP, -1 DOWN.
    ch_idx, ch_px
        (2, capacity) chain buffers, row 0 = high chain (level 0 is a max), row 1 = low chain;
        capacity >= max(ch_len) + n + 1. Updated in place.
    ch_len
        (2,) chain lengths, updated in place. Mode 0 with ``ch_len[0] == 0`` means "not started".
    last_idx, last_px
        Last confirmed pivot (-1 / NaN if none).
    out_*
        Preallocated outputs of length >= n (at most one pivot per bar).

    Returns
    -------
    (n_pivots, mode, last_idx, last_px) after the chunk.
    """
    n = close.shape[0]
    npiv = 0
    for j in range(n):
        t = offset + j
        x = close[j]
        a = atr[j]
        if mode == 0 and ch_len[0] == 0:
            if np.isnan(a):
                continue  # before the start: ignored entirely
            for c in range(2):
                ch_idx[c, 0] = t
                ch_px[c, 0] = x
                ch_len[c] = 1
            continue  # a single bar cannot make a positive move
        # update the tracked chains (monotone stacks of alternating suffix extremes)
        for c in range(2):
            if (c == 0 and mode == -1) or (c == 1 and mode == 1):
                continue
            d0 = 1 if c == 0 else -1
            m = ch_len[c]
            while m > 0:
                d_top = d0 if (m - 1) % 2 == 0 else -d0
                p_top = ch_px[c, m - 1]
                beaten = (x > p_top) if d_top > 0 else (x < p_top)
                if not beaten and m >= 2:
                    p_sec = ch_px[c, m - 2]
                    beaten = (x < p_sec) if d_top > 0 else (x > p_sec)
                if beaten:
                    m -= 1
                else:
                    break
            ch_idx[c, m] = t
            ch_px[c, m] = x
            ch_len[c] = m + 1
        if np.isnan(a):
            continue
        thr = k * a
        src = -1  # chain whose level 0 gets confirmed
        if mode == 0:
            up = x - ch_px[1, 0]
            dn = ch_px[0, 0] - x
            if up > 0.0 and up >= thr:
                src = 1
            elif dn > 0.0 and dn >= thr:
                src = 0
        elif mode == 1:
            dn = ch_px[0, 0] - x
            if dn > 0.0 and dn >= thr:
                src = 0
        else:
            up = x - ch_px[1, 0]
            if up > 0.0 and up >= thr:
                src = 1
        if src >= 0:
            dst = 1 - src
            last_idx = ch_idx[src, 0]
            last_px = ch_px[src, 0]
            out_pivot_index[npiv] = last_idx
            out_pivot_price[npiv] = last_px
            out_pivot_kind[npiv] = 1 if src == 0 else -1
            out_confirm_index[npiv] = t
            out_atr_at_confirm[npiv] = a
            npiv += 1
            m = ch_len[src]
            for i in range(m - 1):
                ch_idx[dst, i] = ch_idx[src, i + 1]
                ch_px[dst, i] = ch_px[src, i + 1]
            ch_len[dst] = m - 1
            ch_len[src] = 0
            mode = -1 if src == 0 else 1
    return npiv, mode, last_idx, last_px


_kernel = jit(_kernel_py)


# --------------------------------------------------------------------------------------------
# state
# --------------------------------------------------------------------------------------------
def _as_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"ZigZagState.{name} must be an integer, got {value!r}")
    return int(value)


def _as_float(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ValueError(f"ZigZagState.{name} must be a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class ZigZagState:
    """Resumable zig-zag state (global bar indices, prices in price units).

    Attributes
    ----------
    next_index
        Global index of the next bar to feed; -1 for a fresh state (any offset accepted).
    mode
        0 = no pivot yet, +1 = last pivot is a low (tracking a candidate high),
        -1 = last pivot is a high (tracking a candidate low).
    k
        Multiplier the state was built with; ``None`` for a fresh state.
    hi_chain_index, hi_chain_price
        High chain (level 0 = running max in mode 0 / candidate high in mode UP, then
        alternating min/max suffix extremes). Empty in mode DOWN and before the start.
    lo_chain_index, lo_chain_price
        Low chain, the mirror image. Empty in mode UP and before the start.
    last_pivot_index, last_pivot_price
        Last confirmed pivot; -1 / ``None`` if none.
    """

    next_index: int = -1
    mode: int = _MODE_SEARCH
    k: float | None = None
    hi_chain_index: tuple[int, ...] = ()
    hi_chain_price: tuple[float, ...] = ()
    lo_chain_index: tuple[int, ...] = ()
    lo_chain_price: tuple[float, ...] = ()
    last_pivot_index: int = -1
    last_pivot_price: float | None = None

    def __post_init__(self) -> None:
        if self.mode not in (-1, 0, 1):
            raise ValueError(f"ZigZagState.mode must be -1, 0 or 1, got {self.mode!r}")
        if len(self.hi_chain_index) != len(self.hi_chain_price):
            raise ValueError("ZigZagState high chain index/price lengths differ")
        if len(self.lo_chain_index) != len(self.lo_chain_price):
            raise ValueError("ZigZagState low chain index/price lengths differ")
        if self.mode == _MODE_UP and (self.lo_chain_index or not self.hi_chain_index):
            raise ValueError("ZigZagState in mode +1 needs a non-empty high chain and an empty low chain")
        if self.mode == _MODE_DOWN and (self.hi_chain_index or not self.lo_chain_index):
            raise ValueError("ZigZagState in mode -1 needs a non-empty low chain and an empty high chain")
        if self.mode == _MODE_SEARCH and (len(self.hi_chain_index) == 0) != (len(self.lo_chain_index) == 0):
            raise ValueError("ZigZagState in mode 0 needs both chains empty or both non-empty")
        if (self.last_pivot_index < 0) != (self.last_pivot_price is None):
            raise ValueError("ZigZagState.last_pivot_index and last_pivot_price must both be set or unset")
        if (self.mode != _MODE_SEARCH) != (self.last_pivot_index >= 0):
            raise ValueError("ZigZagState has a last pivot exactly when mode is +1 or -1")
        if self.k is not None and not self.k > 0:
            raise ValueError(f"ZigZagState.k must be > 0, got {self.k!r}")

    @property
    def started(self) -> bool:
        """Whether a bar with finite ATR has been seen (the algorithm's start)."""
        return bool(self.hi_chain_index or self.lo_chain_index)

    def to_dict(self) -> dict[str, Any]:
        """Plain, strict-JSON dict (no NaN; lists, ints, floats, None)."""
        return {
            "version": _STATE_VERSION,
            "next_index": int(self.next_index),
            "mode": int(self.mode),
            "k": None if self.k is None else float(self.k),
            "hi_chain_index": [int(i) for i in self.hi_chain_index],
            "hi_chain_price": [float(p) for p in self.hi_chain_price],
            "lo_chain_index": [int(i) for i in self.lo_chain_index],
            "lo_chain_price": [float(p) for p in self.lo_chain_price],
            "last_pivot_index": int(self.last_pivot_index),
            "last_pivot_price": None if self.last_pivot_price is None else float(self.last_pivot_price),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ZigZagState:
        """Inverse of :meth:`to_dict`; raises ``ValueError`` on a malformed dict."""
        if not isinstance(data, dict):
            raise ValueError(f"ZigZagState.from_dict expects a dict, got {type(data).__name__}")
        expected = set(cls().to_dict())
        if set(data) != expected:
            raise ValueError(
                f"ZigZagState dict keys mismatch: missing {sorted(expected - set(data))}, "
                f"unexpected {sorted(set(data) - expected)}"
            )
        if data["version"] != _STATE_VERSION:
            raise ValueError(f"unsupported ZigZagState version {data['version']!r}")

        def _list(name: str) -> list[Any]:
            value = data[name]
            if not isinstance(value, (list, tuple)):
                raise ValueError(f"ZigZagState.{name} must be a list, got {value!r}")
            return list(value)

        k = data["k"]
        return cls(
            next_index=_as_int(data["next_index"], "next_index"),
            mode=_as_int(data["mode"], "mode"),
            k=None if k is None else _as_float(k, "k"),
            hi_chain_index=tuple(_as_int(v, "hi_chain_index") for v in _list("hi_chain_index")),
            hi_chain_price=tuple(_as_float(v, "hi_chain_price") for v in _list("hi_chain_price")),
            lo_chain_index=tuple(_as_int(v, "lo_chain_index") for v in _list("lo_chain_index")),
            lo_chain_price=tuple(_as_float(v, "lo_chain_price") for v in _list("lo_chain_price")),
            last_pivot_index=_as_int(data["last_pivot_index"], "last_pivot_index"),
            last_pivot_price=(
                None if data["last_pivot_price"] is None else _as_float(data["last_pivot_price"], "last_pivot_price")
            ),
        )


def initial_state() -> ZigZagState:
    """A fresh state: no bar seen, no pivot, accepts any ``offset`` and ``k``."""
    return ZigZagState()


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ZigZagPivots:
    """Confirmed pivots of one :func:`zigzag` call, in confirmation order (global indices).

    Attributes
    ----------
    pivot_index
        int64 bar index of each pivot.
    pivot_price
        float64 close at the pivot (price units).
    pivot_kind
        int8, +1 high / -1 low; strictly alternating.
    confirm_index
        int64 bar index at which the pivot became known (> ``pivot_index``).
    atr_at_confirm
        float64 ``atr[confirm_index]`` (price units).
    provisional_index, provisional_price, provisional_kind
        The current candidate extreme after the last bar (not confirmed): index, close, +1/-1;
        -1, NaN, 0 when there is none (no pivot confirmed yet).
    """

    pivot_index: IntArray
    pivot_price: FloatArray
    pivot_kind: Int8Array
    confirm_index: IntArray
    atr_at_confirm: FloatArray
    provisional_index: int
    provisional_price: float
    provisional_kind: int

    def __len__(self) -> int:
        return int(self.pivot_index.shape[0])


@dataclass(frozen=True)
class ZigZagLeg:
    """One confirmed leg between two consecutive pivots (global indices, price units).

    ``confirm_index`` / ``atr_at_confirm`` are those of the END pivot (the bar at which the leg
    became known). ``direction`` is ``'up'`` (low -> high) or ``'down'`` (high -> low).
    """

    start_index: int
    start_price: float
    end_index: int
    end_price: float
    confirm_index: int
    direction: Literal["up", "down"]
    atr_at_confirm: float


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------
def zigzag(
    close: ArrayLike,
    atr: ArrayLike,
    k: float,
    state: ZigZagState | None = None,
    offset: int = 0,
) -> tuple[ZigZagPivots, ZigZagState]:
    """Run (or resume) the ATR zig-zag over a chunk of bars.

    Parameters
    ----------
    close
        1-D closes, price units, finite.
    atr
        1-D ATR of the same length, price units; NaN (warm-up) or finite and >= 0.
    k
        Reversal multiplier (> 0); the threshold at bar ``t`` is ``k * atr[t]`` price units.
    state
        State returned by the previous call, or ``None`` / :func:`initial_state` to start.
    offset
        Global index of ``close[0]``. When resuming it must equal ``state.next_index``.

    Returns
    -------
    (ZigZagPivots, ZigZagState)
        Pivots confirmed inside this chunk (global indices; confirmed ones from earlier chunks are
        not repeated) with the provisional extreme after the chunk, and the state to resume from.

    Raises
    ------
    ValueError
        On unequal lengths, non-1-D arrays, non-finite closes, negative or infinite ATR,
        ``k`` not finite and > 0, a negative offset, an offset that does not continue the state,
        or a state built with another ``k``.
    """
    c = np.ascontiguousarray(np.asarray(close, dtype=np.float64))
    a = np.ascontiguousarray(np.asarray(atr, dtype=np.float64))
    if c.ndim != 1 or a.ndim != 1:
        raise ValueError(f"close and atr must be 1-D, got shapes {c.shape} and {a.shape}")
    if c.shape[0] != a.shape[0]:
        raise ValueError(f"close and atr must have the same length, got {c.shape[0]} and {a.shape[0]}")
    if isinstance(k, bool) or not isinstance(k, numbers.Real) or not math.isfinite(float(k)) or not k > 0:
        raise ValueError(f"k must be a finite number > 0, got {k!r}")
    k = float(k)
    bad = np.flatnonzero(~np.isfinite(c))
    if bad.size:
        raise ValueError(f"close must be finite; first non-finite value at index {int(bad[0])}")
    bad = np.flatnonzero(np.isinf(a) | (a < 0))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"atr must be NaN or finite and >= 0; got {a[i]!r} at index {i}")
    if isinstance(offset, bool) or not isinstance(offset, numbers.Integral) or offset < 0:
        raise ValueError(f"offset must be an integer >= 0, got {offset!r}")
    offset = int(offset)
    if state is None:
        state = initial_state()
    if not isinstance(state, ZigZagState):
        raise ValueError(f"state must be a ZigZagState or None, got {type(state).__name__}")
    if state.next_index >= 0 and offset != state.next_index:
        raise ValueError(
            f"offset {offset} does not continue the state (expected offset={state.next_index}); "
            "chunks must be contiguous and non-overlapping"
        )
    if state.k is not None and state.k != k:
        raise ValueError(f"state was built with k={state.k!r}, cannot resume with k={k!r}")

    n = c.shape[0]
    cap = max(len(state.hi_chain_index), len(state.lo_chain_index)) + n + 1
    ch_idx = np.full((2, cap), -1, dtype=np.int64)
    ch_px = np.full((2, cap), np.nan, dtype=np.float64)
    ch_len = np.zeros(2, dtype=np.int64)
    for row, (idx, px) in enumerate(
        ((state.hi_chain_index, state.hi_chain_price), (state.lo_chain_index, state.lo_chain_price))
    ):
        ch_idx[row, : len(idx)] = idx
        ch_px[row, : len(px)] = px
        ch_len[row] = len(idx)
    last_px_in = np.nan if state.last_pivot_price is None else float(state.last_pivot_price)

    out_pivot_index = np.empty(n, dtype=np.int64)
    out_pivot_price = np.empty(n, dtype=np.float64)
    out_pivot_kind = np.empty(n, dtype=np.int8)
    out_confirm_index = np.empty(n, dtype=np.int64)
    out_atr_at_confirm = np.empty(n, dtype=np.float64)
    npiv, mode, last_idx, last_px = _kernel(
        c,
        a,
        k,
        offset,
        int(state.mode),
        ch_idx,
        ch_px,
        ch_len,
        int(state.last_pivot_index),
        last_px_in,
        out_pivot_index,
        out_pivot_price,
        out_pivot_kind,
        out_confirm_index,
        out_atr_at_confirm,
    )
    npiv = int(npiv)
    mode = int(mode)
    n_hi, n_lo = int(ch_len[0]), int(ch_len[1])
    new_state = ZigZagState(
        next_index=offset + n,
        mode=mode,
        k=k,
        hi_chain_index=tuple(int(v) for v in ch_idx[0, :n_hi]),
        hi_chain_price=tuple(float(v) for v in ch_px[0, :n_hi]),
        lo_chain_index=tuple(int(v) for v in ch_idx[1, :n_lo]),
        lo_chain_price=tuple(float(v) for v in ch_px[1, :n_lo]),
        last_pivot_index=int(last_idx) if mode != _MODE_SEARCH else -1,
        last_pivot_price=float(last_px) if mode != _MODE_SEARCH else None,
    )
    if mode == _MODE_UP:
        prov = (new_state.hi_chain_index[0], new_state.hi_chain_price[0], HIGH)
    elif mode == _MODE_DOWN:
        prov = (new_state.lo_chain_index[0], new_state.lo_chain_price[0], LOW)
    else:
        prov = (-1, math.nan, 0)
    pivots = ZigZagPivots(
        pivot_index=out_pivot_index[:npiv].copy(),
        pivot_price=out_pivot_price[:npiv].copy(),
        pivot_kind=out_pivot_kind[:npiv].copy(),
        confirm_index=out_confirm_index[:npiv].copy(),
        atr_at_confirm=out_atr_at_confirm[:npiv].copy(),
        provisional_index=int(prov[0]),
        provisional_price=float(prov[1]),
        provisional_kind=int(prov[2]),
    )
    return pivots, new_state


def last_confirmed_leg(pivots: ZigZagPivots, as_of_index: int) -> ZigZagLeg | None:
    """The leg between the last two pivots known at bar ``as_of_index``.

    Parameters
    ----------
    pivots
        Output of :func:`zigzag` (pivots in confirmation order).
    as_of_index
        Global bar index; only pivots with ``confirm_index <= as_of_index`` are considered.

    Returns
    -------
    ZigZagLeg or None
        ``None`` if fewer than two pivots are confirmed by then.
    """
    if isinstance(as_of_index, bool) or not isinstance(as_of_index, numbers.Integral):
        raise ValueError(f"as_of_index must be an integer, got {as_of_index!r}")
    known = int(np.searchsorted(pivots.confirm_index, int(as_of_index), side="right"))
    if known < 2:
        return None
    s, e = known - 2, known - 1
    return ZigZagLeg(
        start_index=int(pivots.pivot_index[s]),
        start_price=float(pivots.pivot_price[s]),
        end_index=int(pivots.pivot_index[e]),
        end_price=float(pivots.pivot_price[e]),
        confirm_index=int(pivots.confirm_index[e]),
        direction="up" if int(pivots.pivot_kind[e]) == HIGH else "down",
        atr_at_confirm=float(pivots.atr_at_confirm[e]),
    )
