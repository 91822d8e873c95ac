"""The complete soybean-oil legacy COT (CFTC public-reporting export, the live API's own fields)
replayed through the live client's row mapping; files that carry the same report must agree."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest

from mes_assets.sources.errors import DataQualityError
from mes_assets.sources.replay import ReplayCot

D = dt.date
SOCRATA = "cot/socrata/legacy_futures_only_soybean_oil_007601_2009-01-06_2026-02-24.csv"


@pytest.fixture(scope="module")
def socrata_root(data_root: Path) -> Path:
    if not (data_root / SOCRATA).is_file():
        pytest.skip(f"{SOCRATA} not under {data_root} (the vendored sample does not carry it)")
    return data_root


def test_every_week_2009_to_2026_is_there_once(socrata_root):
    legacy = ReplayCot(socrata_root).reports("007601", D(2009, 1, 1), D(2026, 3, 1), report_types=["legacy"])
    dates = legacy["report_date"].to_list()
    assert (len(dates), dates[0], dates[-1]) == (895, D(2009, 1, 6), D(2026, 2, 24))  # data README: 895 weeks
    gaps = {(b - a).days for a, b in zip(dates, dates[1:], strict=False)}
    assert gaps <= {6, 7, 8}  # weekly; 6 or 8 days where a holiday moved the report (data README)
    releases = legacy["release_date"].to_list()
    assert all(
        r.weekday() == 4 and 1 <= (r - d).days <= 4 for d, r in zip(dates, releases, strict=True)
    )  # the Friday after


def test_hand_checked_rows(socrata_root):
    cot = ReplayCot(socrata_root)
    first = cot.reports("007601", D(2009, 1, 6), D(2009, 1, 6), report_types=["legacy"]).row(0, named=True)
    # CSV line 2: open_interest_all 199647, noncomm 19478 / 30654, comm 116639 / 109925
    assert (
        first["open_interest"],
        first["noncomm_long"],
        first["noncomm_short"],
        first["comm_long"],
        first["comm_short"],
    ) == (199647, 19478, 30654, 116639, 109925)
    assert "public reporting 6dca-aqww" in first["source"]
    # 2025-03-11 is also in the official annual file (legacy_2025_es_mes_zl.csv line 2): one row, equal
    both = cot.reports("007601", D(2025, 3, 11), D(2025, 3, 11), report_types=["legacy"])
    assert both.height == 1
    assert both.row(0, named=True)["open_interest"] == 566507 and both["comm_short"][0] == 311992


def test_two_files_that_disagree_on_a_report_are_refused(socrata_root, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(socrata_root / "cot", root / "cot", ignore=shutil.ignore_patterns("*.xlsx", "*.parquet"))
    path = root / SOCRATA
    path.chmod(0o644)
    lines = path.read_text().splitlines()
    target = next(i for i, line in enumerate(lines) if "2025-03-11T00:00:00.000" in line)
    lines[target] = lines[target].replace(",566507,", ",566508,", 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataQualityError, match=r"COT files disagree on 007601 2025-03-11"):
        ReplayCot(root).reports("007601", D(2025, 1, 1), D(2025, 12, 31))


def test_without_the_export_the_official_files_still_serve(socrata_root, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(socrata_root / "cot", root / "cot", ignore=shutil.ignore_patterns("socrata"))
    legacy = ReplayCot(root).reports("007601", D(2009, 1, 1), D(2026, 3, 1), report_types=["legacy"])
    assert legacy.height == 10 and legacy["report_date"].min() >= D(2025, 1, 1)
    assert set(legacy["source"].str.extract(r"(cot/\S+)").to_list()) == {"cot/legacy_2025_es_mes_zl.csv"}
    assert not pl.Series(legacy["source"]).str.contains("socrata").any()
