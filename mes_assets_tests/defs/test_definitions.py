"""The code location loads, shows both instrument families, and keeps privacy structural."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg
import yaml

from mes_assets.definitions import defs
from mes_assets.instruments import INSTRUMENTS, MES, ZL

REPO = Path(__file__).resolve().parents[2]


def _assets_by_key(definitions: dg.Definitions) -> dict[dg.AssetKey, dg.AssetsDefinition]:
    graph = definitions.resolve_asset_graph()
    return {key: graph.get(key).assets_def for key in graph.get_all_asset_keys()}


def test_both_families_and_the_drivers_are_in_the_graph():
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    for prefix in ("zl", "mes"):
        assert {f"{prefix}/exchange_sessions", f"{prefix}/fib_levels"} <= keys
    assert {"zl/futures_ohlcv_1d", "mes/futures_ohlcv_1m"} <= keys
    assert {"drivers/fred_sentiment_daily", "drivers/cftc_cot"} <= keys


def test_each_family_writes_only_through_its_audience_warehouse():
    for key, assets_def in _assets_by_key(defs).items():
        prefix = key.path[0]
        needs = assets_def.required_resource_keys
        if prefix == MES.key_prefix:
            assert "warehouse" not in needs, f"{key} (MES) could reach the shared warehouse"
            assert "private_warehouse" in needs
        if prefix == ZL.key_prefix:
            assert "private_warehouse" not in needs, f"{key} (ZL) needs the private warehouse"


def test_every_asset_is_date_partitioned_single_run_and_in_the_warehouse_pool():
    for key, assets_def in _assets_by_key(defs).items():
        assert assets_def.op.pool == "warehouse", key
        if key.path[-1] in ("zigzag_calibration", "mc_calibration", "checklist_hit_rate"):
            assert assets_def.partitions_def is None, key  # runs over the whole history at once
            continue
        assert assets_def.partitions_def is not None, key
        assert assets_def.backfill_policy == dg.BackfillPolicy.single_run(), key
    config = yaml.safe_load((REPO / "dagster.yaml").read_text())
    assert config["concurrency"]["pools"]["default_limit"] == 1  # DuckDB: one writer per file


def test_instrument_specs_hold_the_spec_facts():
    assert (ZL.tick_size, ZL.atr_bar, ZL.mc_horizons, ZL.audience) == (0.01, "1d", ("1w", "1m"), "shared")
    assert (MES.tick_size, MES.atr_bar, MES.mc_horizons, MES.audience) == (0.25, "5m", ("5m", "15m", "60m"), "private")
    assert MES.is_proxy and MES.price_source == "ES proxy"
    assert len({s.symbol for s in INSTRUMENTS}) == len(INSTRUMENTS)


def test_dagster_cli_validates_the_workspace():
    completed = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
