"""Timed single-run backfills on a fresh embedded warehouse (issue 8): ``python -m benchmarks.backfill``.

1. ZL, one year (2024-01-02..2024-12-31), every ZL asset, each asset group one single-run backfill
   over the year (history the model needs is ingested first and timed separately).
2. MES, the longest recorded ES-proxy window (2025-04-21..2025-05-06), every MES asset.

Prints wall time per step and the peak RSS of this process (the runs execute in process), so the
figures are what one Dagster run worker would see. Uses the real sample (MES_DATA_DIR or
../shared/data); writes only under a temporary directory.
"""

from __future__ import annotations

import datetime as dt
import resource
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

D = dt.date


def _run(defs: dg.Definitions, instance: dg.DagsterInstance, job: str, start: dt.date, end: dt.date,
         assets: list[str]) -> float:
    from mes_assets.cli import QUIET

    tags = {"dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat()}
    t0 = time.perf_counter()
    result = defs.resolve_job_def(job).execute_in_process(
        instance=instance, tags=tags, run_config=QUIET,
        asset_selection=[dg.AssetKey.from_user_string(a) for a in assets])
    if not result.success:
        raise SystemExit(f"{job} {assets} failed")
    return time.perf_counter() - t0


def main() -> int:
    from mes_assets.data_dir import resolve_data_dir
    from mes_assets.definitions import build_definitions
    from mes_assets_tests.conftest import make_resources

    tmp = Path(tempfile.mkdtemp(prefix="mes-backfill-"))
    defs = build_definitions(make_resources(tmp / "warehouse", resolve_data_dir(None)))
    steps = [
        ("drivers 2021-12..2024-12 (inputs)", "drivers_job", D(2021, 12, 15), D(2024, 12, 31), None),
        ("ZL history ingest 2021-12..2023-12 (inputs)", "zl_job", D(2021, 12, 15), D(2023, 12, 29),
         ["zl/exchange_sessions", "zl/futures_ohlcv_1d"]),
        ("ZL year: sessions + bars", "zl_job", D(2024, 1, 2), D(2024, 12, 31), ["zl/exchange_sessions", "zl/futures_ohlcv_1d"]),
        ("ZL year: features + fib", "zl_job", D(2024, 1, 2), D(2024, 12, 31),
         ["zl/master_features", "zl/fib_levels"]),
        ("ZL history features (model inputs)", "zl_job", D(2021, 12, 15), D(2023, 12, 29), ["zl/master_features"]),
        ("ZL year: quantile model + SHAP", "zl_job", D(2024, 1, 2), D(2024, 12, 31),
         ["zl/pinball_bands", "zl/shap_values", "zl/force_lines", "zl/model_registry"]),
        ("ZL year: health, regime, stability, gamma, MC", "zl_job", D(2024, 1, 2), D(2024, 12, 31),
         ["zl/model_health", "zl/regime_state", "zl/shap_stability", "zl/options_oi_raw", "zl/gex_surface",
          "zl/gamma_summary", "zl/mc_touches"]),
        ("ZL year: checklist", "zl_job", D(2024, 1, 2), D(2024, 12, 31), ["zl/entry_checklist"]),
        ("MES window: every MES asset", "mes_job", D(2025, 4, 21), D(2025, 5, 6),
         ["mes/exchange_sessions", "mes/futures_ohlcv_1m", "mes/master_features", "mes/fib_levels",
          "mes/pinball_bands", "mes/shap_values", "mes/force_lines", "mes/model_registry", "mes/model_health",
          "mes/regime_state", "mes/shap_stability", "mes/options_oi_raw", "mes/gex_surface", "mes/gamma_summary",
          "mes/mc_touches"]),
    ]
    print("| step | wall |\n|---|---|")
    with dg.instance_for_test(temp_dir=str(tmp)) as instance:
        for label, job, start, end, assets in steps:
            if assets is None:
                t0 = time.perf_counter()
                defs.resolve_job_def(job).execute_in_process(
                    instance=instance, run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
                    tags={"dagster/asset_partition_range_start": start.isoformat(),
                          "dagster/asset_partition_range_end": end.isoformat()})
                seconds = time.perf_counter() - t0
            else:
                seconds = _run(defs, instance, job, start, end, assets)
            print(f"| {label} | {seconds:.1f} s |", flush=True)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of the process: {peak_mib:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
