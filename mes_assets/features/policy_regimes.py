"""Dated public policy regimes, as data, for the ``policy_*`` flags of ``features.master_features``.

Each regime is a closed calendar window ``[start, end]`` (both inclusive) bounded by two public,
dated government actions; the citation of each boundary is kept in the dataclass so it travels
with the data. A flag is 1 on a date inside the window and 0 outside. The flags are point-in-time:
on a date inside the window the regime has started publicly and has not yet ended, and on a date
after the window the end is public. Only facts with a public, dated source are entered here.

Regimes
-------
``policy_trade_war_2017_19``
    Start 2017-08-18: USTR formally initiated the Section 301 investigation of China's acts,
    policies and practices related to technology transfer, intellectual property and innovation
    (Federal Register notice 82 FR 40213, published 2017-08-24, docket USTR-2017-0016). This
    is the first public step of the 2017-19 US-China trade dispute; the tariff actions that
    followed (e.g. the first Section 301 list, 83 FR 28710, 2018-06-20) lie inside the window.
    End 2020-01-15: the US-China "Phase One" Economic and Trade Agreement was signed in
    Washington (entered into force 2020-02-14), which ended the escalation phase.
``policy_regime_2023_25``
    Start 2023-06-21: EPA released the final Renewable Fuel Standard "Set 2" rule, "Renewable
    Fuel Standard (RFS) Program: Standards for 2023-2025 and Other Changes" (RIN 2060-AV14),
    published in the Federal Register on 2023-07-12 at 88 FR 44468. The rule sets the
    biomass-based diesel and other RFS volumes for 2023, 2024 and 2025 (the demand regime for
    soybean oil as a biofuel feedstock). The start is the public release (announcement) date,
    not the later Federal Register publication.
    End 2025-12-31: the end of the 2025 compliance year, the last year whose volumes that rule
    sets (a date fixed by the rule's own scope, not a guessed policy change).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["POLICY_REGIMES", "PolicyRegime", "regime_flags"]


@dataclass(frozen=True)
class PolicyRegime:
    """One dated policy regime: flag = 1 on ``start <= date <= end`` (inclusive), else 0.

    Attributes
    ----------
    name
        Column name of the flag in ``features.master_features``.
    start, end
        First and last calendar day of the window (inclusive).
    description
        What the regime is.
    start_source, end_source
        Public source that dates each boundary.
    """

    name: str
    start: dt.date
    end: dt.date
    description: str
    start_source: str
    end_source: str

    def __post_init__(self) -> None:
        for label, value in (("start", self.start), ("end", self.end)):
            if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
                raise ValueError(f"PolicyRegime {self.name!r}: {label} must be a datetime.date, got {value!r}")
        if self.end < self.start:
            raise ValueError(f"PolicyRegime {self.name!r}: end {self.end} is before start {self.start}")

    @property
    def citation(self) -> str:
        """Both boundary sources in one string."""
        return f"start: {self.start_source}; end: {self.end_source}"

    def contains(self, day: dt.date) -> bool:
        """Whether ``day`` lies inside ``[start, end]`` (inclusive)."""
        return self.start <= day <= self.end


POLICY_REGIMES: tuple[PolicyRegime, ...] = (
    PolicyRegime(
        name="policy_trade_war_2017_19",
        # 2017-08-18: USTR initiation of the Section 301 investigation of China
        # (Federal Register 82 FR 40213, 2017-08-24, docket USTR-2017-0016).
        start=dt.date(2017, 8, 18),
        # 2020-01-15: signing of the US-China Phase One Economic and Trade Agreement (USTR).
        end=dt.date(2020, 1, 15),
        description=(
            "US-China trade war: from the USTR Section 301 investigation of China to the signing "
            "of the Phase One agreement"
        ),
        start_source=(
            "USTR initiation of Section 301 investigation of China's acts, policies and practices "
            "related to technology transfer, intellectual property and innovation, 2017-08-18; "
            "Federal Register 82 FR 40213 (2017-08-24), docket USTR-2017-0016"
        ),
        end_source=(
            "Economic and Trade Agreement between the United States of America and the People's "
            "Republic of China (Phase One), signed 2020-01-15 (USTR); entered into force 2020-02-14"
        ),
    ),
    PolicyRegime(
        name="policy_regime_2023_25",
        # 2023-06-21: EPA release of the final RFS "Set 2" rule for 2023-2025
        # (Federal Register 88 FR 44468, 2023-07-12, RIN 2060-AV14).
        start=dt.date(2023, 6, 21),
        # 2025-12-31: end of the 2025 compliance year, the last year the Set 2 rule covers.
        end=dt.date(2025, 12, 31),
        description=(
            "EPA Renewable Fuel Standard 'Set 2' volumes for 2023-2025 (biomass-based diesel "
            "demand for soybean oil), from the final rule's release to the end of its last "
            "compliance year"
        ),
        start_source=(
            "EPA final rule 'Renewable Fuel Standard (RFS) Program: Standards for 2023-2025 and "
            "Other Changes', released 2023-06-21; Federal Register 88 FR 44468 (2023-07-12), "
            "RIN 2060-AV14"
        ),
        end_source=(
            "same rule (88 FR 44468): volumes set for compliance years 2023, 2024 and 2025; the "
            "2025 compliance year ends 2025-12-31"
        ),
    ),
)

_names = [r.name for r in POLICY_REGIMES]
if len(set(_names)) != len(_names):  # pragma: no cover - guards edits of the table above
    raise RuntimeError(f"duplicate policy regime names: {_names}")


def regime_flags(dates: Sequence[dt.date], regimes: Sequence[PolicyRegime] = POLICY_REGIMES) -> dict[str, list[int]]:
    """0/1 flag per regime and date.

    Parameters
    ----------
    dates
        Calendar dates (``datetime.date``, not ``datetime``), any order.
    regimes
        The regimes to flag (default: :data:`POLICY_REGIMES`).

    Returns
    -------
    dict[str, list[int]]
        ``{regime.name: [1 if regime.start <= d <= regime.end else 0 for d in dates]}``.

    Raises
    ------
    ValueError
        If a date is missing (None), a ``datetime`` or not a ``date``.
    """
    for i, d in enumerate(dates):
        if isinstance(d, dt.datetime) or not isinstance(d, dt.date):
            raise ValueError(f"dates[{i}] must be a datetime.date, got {d!r}")
    return {r.name: [1 if r.start <= d <= r.end else 0 for d in dates] for r in regimes}
