"""Instrument facts that a deployment may override: the first date of bar history."""

import datetime as dt
import os
import subprocess
import sys

import pytest

from mes_assets.instruments import MES, ZL, history_start


def test_history_start_defaults_to_the_recorded_sample(monkeypatch) -> None:
    monkeypatch.delenv("MES_HISTORY_START_MES", raising=False)
    assert history_start("MES", dt.date(2023, 3, 8)) == dt.date(2023, 3, 8)
    monkeypatch.setenv("MES_HISTORY_START_MES", "  ")
    assert history_start("MES", dt.date(2023, 3, 8)) == dt.date(2023, 3, 8)


def test_history_start_override_and_a_bad_value_say_which_variable(monkeypatch) -> None:
    monkeypatch.setenv("MES_HISTORY_START_MES", "2022-12-19")
    assert history_start("MES", dt.date(2023, 3, 8)) == dt.date(2022, 12, 19)
    monkeypatch.setenv("MES_HISTORY_START_MES", "19/12/2022")
    with pytest.raises(ValueError, match="MES_HISTORY_START_MES='19/12/2022' is not an ISO date"):
        history_start("MES", dt.date(2023, 3, 8))


def test_the_override_moves_the_spec_and_the_partitions_in_a_fresh_process() -> None:
    code = (
        "from mes_assets.instruments import MES, ZL; from mes_assets.defs.partitions import PARTITIONS_START;"
        "print(MES.history_start, ZL.history_start, PARTITIONS_START)"
    )
    env = dict(os.environ, MES_HISTORY_START_MES="2020-06-01")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["2020-06-01", str(ZL.history_start), "2020-06-01"]
    assert MES.history_start == dt.date(2023, 3, 8)  # this process was started without it
