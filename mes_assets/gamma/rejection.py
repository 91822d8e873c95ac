"""Wall rejection: first-touch-then-reverse events on recorded bars and the logistic fit of p_reject.

The fit gives (alpha, beta); with too few events the result is uncalibrated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from mes_assets.kernels.logistic import RejectionCalibration, fit_alpha_beta

# Options data of a session are known from the next Globex open (18:00 New York).
_EXCHANGE_TZ = ZoneInfo("America/New_York")


REJECTION_VERSION = "wall-reject-v1"


#: Columns of the :func:`rejection_events` frame.
REJECTION_EVENTS: pl.Schema = pl.Schema(
    {
        "date": pl.Date,  # date of the walls (options records)
        "wall_label": pl.Utf8,
        "wall": pl.Float64,  # K in the bars' price scale
        "side": pl.Utf8,  # 'above' (resistance) or 'below' (support)
        "p0": pl.Float64,
        "touch_bar": pl.Int64,  # 0-based bar index after D
        "touch_time": pl.Utf8,  # ISO date / timestamp of the touch bar
        "reversed": pl.Int64,  # 1 reversed, 0 broke through or pinned
        "g": pl.Float64,
        "z": pl.Float64,
    }
)


# --------------------------------------------------------------------------------------------
# (4) calibration object (used by (3))
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class WallCalibration:
    """A :class:`~mes_assets.kernels.logistic.RejectionCalibration` with its version and horizon.

    Attributes
    ----------
    calibration
        The fit (``status`` ``"calibrated"`` or ``"uncalibrated"`` with a reason).
    version
        ``"wall-reject-v1|h=<horizon>|n=<events>|sha=<12 hex of the events>"``.
    horizon
        Horizon label the events and ``z`` refer to.
    """

    calibration: RejectionCalibration
    version: str
    horizon: str

    @property
    def status(self) -> str:
        return self.calibration.status

    @property
    def n_events(self) -> int:
        return self.calibration.n_obs

    @property
    def alpha(self) -> float | None:
        return self.calibration.alpha

    @property
    def beta(self) -> float | None:
        return self.calibration.beta


def calibrate_rejection(
    events: pl.DataFrame, min_events: int = 30, *, horizon: str = "", ridge: float = 0.0
) -> WallCalibration:
    """Fit ``p_reject = sigmoid(alpha g - beta z)`` on first-touch events (module docstring).

    Parameters
    ----------
    events
        A frame with float columns ``g``, ``z`` and integer ``reversed`` (0/1), e.g. from
        :func:`rejection_events`.
    min_events
        Fewer events than this: ``"uncalibrated"`` (reason says how many).
    horizon
        Horizon label recorded in the version.
    ridge
        Optional ridge penalty (:func:`~mes_assets.kernels.logistic.fit_logistic`).

    Returns
    -------
    WallCalibration
    """
    for c in ("g", "z", "reversed"):
        if c not in events.columns:
            raise ValueError(f"events frame lacks column {c!r}")
    ev = events.select("g", "z", "reversed")
    if ev.null_count().sum_horizontal().item():
        raise ValueError("events hold NULL g, z or reversed")
    g = ev["g"].to_numpy().astype(np.float64)
    z = ev["z"].to_numpy().astype(np.float64)
    y = ev["reversed"].to_numpy()
    cal = fit_alpha_beta(g, z, y, min_events=min_events, ridge=ridge)
    digest = hashlib.sha256(ev.sort(ev.columns).write_csv(float_precision=12).encode()).hexdigest()[:12]
    return WallCalibration(cal, f"{REJECTION_VERSION}|h={horizon}|n={ev.height}|sha={digest}", horizon)


# --------------------------------------------------------------------------------------------
# (4) rejection events on recorded bars
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Wall:
    """One wall for event extraction: level in the bars' price scale and its ``g``."""

    level: float
    g: float
    label: str = ""


def walls_from_summary(
    summary: pl.DataFrame,
    *,
    aggregation: str = "weighted",
    offsets: Mapping[dt.date, float] | None = None,
) -> dict[dt.date, list[Wall]]:
    """Walls per date from ``gamma_summary`` rows (wall_1 with ``wall_strength``, wall_2 with ``wall_2_g``).

    ``offsets`` shifts each date's levels into the bars' price scale (e.g. ES close minus the SPX
    spot of the stand-in options, both recorded on that date); a date missing from ``offsets`` is
    left out (no guessed basis).
    """
    out: dict[dt.date, list[Wall]] = {}
    sel = summary.filter(pl.col("aggregation") == aggregation)
    for d, w1, g1, w2, g2 in sel.select("date", "wall_1", "wall_strength", "wall_2", "wall_2_g").iter_rows():
        if offsets is not None and d not in offsets:
            continue
        off = 0.0 if offsets is None else float(offsets[d])
        walls = [
            Wall(w + off, g if g is not None else math.nan, lab)
            for w, g, lab in ((w1, g1, "wall_1"), (w2, g2, "wall_2"))
            if w is not None
        ]
        out.setdefault(d, []).extend(walls)
    return out


def rejection_events(
    bars: pl.DataFrame,
    walls_by_date: Mapping[dt.date, Sequence[Wall]],
    *,
    sigma_annual: float | Mapping[dt.date, float],
    horizon_years: float,
    horizon_bars: int,
    reverse_bars: int,
    reverse_frac: float = 0.0025,
) -> tuple[pl.DataFrame, dict[str, int]]:
    """First-touch-then-reverse events around walls on recorded bars (module docstring).

    Parameters
    ----------
    bars
        Recorded bars: a ``DAILY_BARS`` frame (``date``) or a ``MINUTE_BARS`` frame
        (``ts_event``, UTC), ascending, with ``open/high/low/close``.
    walls_by_date
        Walls known after each date's end-of-day records (levels in the bars' price scale).
    sigma_annual
        Annualised volatility for ``z`` (one value or one per date; a missing date skips it).
    horizon_years
        ``H`` for ``z`` in years.
    horizon_bars
        Bars after D in which a touch counts.
    reverse_bars
        Bars from the touch bar on in which the reversal must show.
    reverse_frac
        Band half-width ``theta`` as a fraction of the wall level.

    Returns
    -------
    (polars.DataFrame, dict[str, int])
        :data:`REJECTION_EVENTS` rows and counts: ``walls``, ``events``, ``reversed``,
        ``no_touch``, ``censored``, ``at_wall``, ``no_bars`` (no recorded bar after D),
        ``no_g``, ``no_sigma``.
    """
    if "date" in bars.columns and bars.schema["date"] == pl.Date:
        time_col = "date"
    elif "ts_event" in bars.columns:
        time_col = "ts_event"
    else:
        raise ValueError("bars need a Date 'date' or a 'ts_event' column")
    for n_, v in (("horizon_bars", horizon_bars), ("reverse_bars", reverse_bars)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{n_} must be an integer >= 1, got {v!r}")
    h = float(horizon_years)
    theta_frac = float(reverse_frac)
    if not (h > 0.0 and math.isfinite(h)) or not (theta_frac > 0.0 and math.isfinite(theta_frac)):
        raise ValueError("horizon_years and reverse_frac must be finite and > 0")
    if not bars[time_col].is_sorted():
        raise ValueError("bars must be in ascending time order")

    times = bars[time_col]
    o = bars["open"].to_numpy()
    hi = bars["high"].to_numpy()
    lo = bars["low"].to_numpy()
    cl = bars["close"].to_numpy()
    counts = dict.fromkeys(
        ("walls", "events", "reversed", "no_touch", "censored", "at_wall", "no_bars", "no_g", "no_sigma"), 0
    )
    rows = []
    for d in sorted(walls_by_date):
        walls = list(walls_by_date[d])
        counts["walls"] += len(walls)
        if time_col == "date":
            start = int(times.search_sorted(d, side="right"))
        else:
            avail = dt.datetime.combine(d, dt.time(18, 0), tzinfo=_EXCHANGE_TZ).astimezone(dt.UTC)
            start = int(times.search_sorted(avail, side="left"))
        if start >= bars.height:
            counts["no_bars"] += len(walls)
            continue
        sig = sigma_annual.get(d) if isinstance(sigma_annual, Mapping) else sigma_annual
        if sig is None or not (math.isfinite(float(sig)) and float(sig) > 0.0):
            counts["no_sigma"] += len(walls)
            continue
        p0 = float(o[start])
        for wall in walls:
            k = float(wall.level)
            if not math.isfinite(wall.g):
                counts["no_g"] += 1
                continue
            if k == p0:
                counts["at_wall"] += 1
                continue
            above = k > p0
            stop = min(start + horizon_bars, bars.height)
            hit = np.flatnonzero(hi[start:stop] >= k) if above else np.flatnonzero(lo[start:stop] <= k)
            if hit.size == 0:
                # not touched within the recorded part of the horizon; a horizon cut short by
                # the end of the recorded bars cannot say "no touch"
                counts["no_touch" if start + horizon_bars <= bars.height else "censored"] += 1
                continue
            i = start + int(hit[0])
            theta = theta_frac * k
            outcome = None
            for j in range(i, min(i + reverse_bars, bars.height)):
                if cl[j] < k - theta:
                    outcome = 1 if above else 0
                    break
                if cl[j] > k + theta:
                    outcome = 0 if above else 1
                    break
            if outcome is None:
                if i + reverse_bars > bars.height:
                    counts["censored"] += 1
                    continue
                outcome = 0  # pinned inside the band: not a reversal
            z = abs(p0 - k) / (float(sig) * p0 * math.sqrt(h))
            counts["events"] += 1
            counts["reversed"] += outcome
            rows.append(
                {
                    "date": d,
                    "wall_label": wall.label,
                    "wall": k,
                    "side": "above" if above else "below",
                    "p0": p0,
                    "touch_bar": i - start,
                    "touch_time": str(times[i]),
                    "reversed": outcome,
                    "g": float(wall.g),
                    "z": z,
                }
            )
    return pl.DataFrame(rows, schema=REJECTION_EVENTS), counts
