"""Secrets stay secret: materialize with sentinel credentials in the environment and look for them
everywhere the run could have put them — the event log (messages and metadata), every table of
both warehouses, every file written under the run's folder, and the process's stdout/stderr.

The credentials reach the resources only as ``dg.EnvVar`` references (``resources_from_env``);
replay mode never needs them, so this proves that merely having them configured leaks nothing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from mes_assets.definitions import build_definitions
from mes_assets.defs.resources import resources_from_env
from mes_assets_tests.conftest import QUIET

SENTINELS = {
    "DATABENTO_API_KEY": "db-SENTINEL-7f3a9c1e5b",
    "FRED_API_KEY": "fredSENTINEL0d4b2e8a61c",
}


def _materialize(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    job: str,
    start: dt.date,
    end: dt.date,
    assets: list[str] | None = None,
) -> str:
    tags = {
        "dagster/asset_partition_range_start": start.isoformat(),
        "dagster/asset_partition_range_end": end.isoformat(),
    }
    selection = [dg.AssetKey.from_user_string(a) for a in assets] if assets else None
    result = defs.resolve_job_def(job).execute_in_process(
        instance=instance, tags=tags, run_config=QUIET, asset_selection=selection
    )
    assert result.success
    return result.run_id


@pytest.mark.slow
def test_sentinel_credentials_appear_nowhere(tmp_path: Path, data_root: Path, monkeypatch, capfd):
    for name, value in SENTINELS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MES_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    monkeypatch.setenv("MES_DATA_DIR", str(data_root))
    monkeypatch.delenv("MES_SOURCE_MODE", raising=False)
    resources = resources_from_env()
    # the resource holds a reference to the variable, not its value
    assert "SENTINEL" not in repr(resources["recorded_data"])
    defs = build_definitions(resources)
    (tmp_path / "dagster_home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster_home")) as instance:
        runs = [
            _materialize(defs, instance, "drivers_job", dt.date(2024, 6, 3), dt.date(2024, 6, 14)),
            _materialize(
                defs,
                instance,
                "zl_job",
                dt.date(2024, 6, 3),
                dt.date(2024, 6, 14),
                ["zl/exchange_sessions", "zl/futures_ohlcv_1d", "zl/master_features", "zl/fib_levels"],
            ),
            _materialize(
                defs,
                instance,
                "mes_job",
                dt.date(2023, 3, 13),
                dt.date(2023, 3, 14),
                ["mes/exchange_sessions", "mes/futures_ohlcv_1m", "mes/fib_levels"],
            ),
        ]
        logged = [str(entry) for run_id in runs for entry in instance.all_logs(run_id)]
        assert len(logged) > 50  # the runs did log: the scan below is not vacuous
        for value in SENTINELS.values():
            assert not any(value in line for line in logged), "a credential reached the event log"
    # every byte written under the test's folder: both DuckDB warehouses, the Dagster instance
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".duckdb" for p in written) and len(written) > 3
    for path in written:
        blob = path.read_bytes()
        for value in SENTINELS.values():
            assert value.encode() not in blob, f"a credential was written to {path}"
    # the tables themselves, read back through the warehouse (not only the bytes on disk)
    for key in ("warehouse", "private_warehouse"):
        backend = resources[key].get_backend()
        for table in ("raw_intelligence.sentiment_daily", "features.master_features", "signals.fib_levels"):
            text = backend.read(f"SELECT * FROM {table}").write_csv()
            assert all(value not in text for value in SENTINELS.values())
    out, err = capfd.readouterr()
    for value in SENTINELS.values():
        assert value not in out and value not in err


def test_the_scan_would_see_a_leak(tmp_path: Path):
    """Guard against a vacuous scan: a value written the way the stores write bytes is found."""
    import duckdb

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE TABLE t (s VARCHAR)")
    con.execute("INSERT INTO t VALUES (?)", [SENTINELS["FRED_API_KEY"]])
    con.close()
    assert SENTINELS["FRED_API_KEY"].encode() in (tmp_path / "w.duckdb").read_bytes()
