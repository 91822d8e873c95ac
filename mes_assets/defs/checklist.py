"""signals.entry_checklist: the six checks, verdict and tranche per date (procurement, ZL)."""

import os

import dagster as dg
import polars as pl

from mes_assets.checklist.hit_rate import hit_rate
from mes_assets.checklist.rules import ChecklistConfig, budget_cap, evaluate_checklist
from mes_assets.defs._slices import family_asset, family_key, instrument_warehouse, now_utc, slice_metadata
from mes_assets.defs.partitions import partition_dates
from mes_assets.instruments import InstrumentSpec
from mes_assets.montecarlo.touches import TouchInputs
from mes_assets.warehouse.queries import query

TABLE = "signals.entry_checklist"
CONFIG = ChecklistConfig()


def _rows(warehouse, sql: str, params: dict) -> list[dict]:
    return warehouse.read(sql, params).to_dicts()


def build_checklist_asset(spec: InstrumentSpec) -> dg.AssetsDefinition:
    @family_asset(
        spec,
        "entry_checklist",
        kinds={"bigquery", "polars"},
        deps=[
            family_key(spec, n)
            for n in (
                "model_health",
                "regime_state",
                "master_features",
                "fib_levels",
                "gamma_summary",
                "pinball_bands",
                "force_lines",
                "mc_calibration",
            )
        ],
        description=f"{spec.symbol} six entry checks -> EXECUTE / PARTIAL / WAIT, tranche and SHAP rationale "
        "(budget cap from MES_BUDGET_CAP_ZL; unset = cannot pass).",
    )
    def _checklist(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        start, end = partition_dates(context)
        warehouse = instrument_warehouse(context, spec)
        p = {"symbol": spec.symbol, "start_date": start, "end_date": end}
        features = {r["date"]: r for r in _rows(warehouse, query("master_features_between"), p)}
        fib = {r["date"]: r for r in _rows(warehouse, query("fib_levels_between"), p)}
        gamma = {r["date"]: r for r in _rows(warehouse, query("gamma_summary_weighted_between"), p)}
        regime = {r["date"]: r for r in _rows(warehouse, query("regime_state_between"), p)}
        metrics = _rows(warehouse, query("model_metrics_between"), p)
        lines = {r["date"]: r for r in _rows(warehouse, query("force_lines_1w_between"), p)}
        bands = warehouse.read(query("quantiles_through"), p)
        calibration = warehouse.read(
            query("mc_calibration_calibrated_horizon"), {"symbol": spec.symbol, "horizon": CONFIG.budget_horizon}
        )
        cap = budget_cap(spec.symbol, os.environ)
        width = bands.filter(pl.col("horizon") == "1w").with_columns((pl.col("p90") - pl.col("p10")).alias("w"))
        budget_fc = {r["date"]: r for r in bands.filter(pl.col("horizon") == CONFIG.budget_horizon).to_dicts()}
        out = []
        for day in sorted(features):
            f = features[day]
            known = calibration.filter(pl.col("date") <= day)
            weight, version = (
                (known["vix_weight"][-1], known["calibration_version"][-1]) if known.height else (None, None)
            )
            inputs = TouchInputs(
                symbol=spec.symbol,
                date=day,
                horizon=CONFIG.budget_horizon,
                spot=float(f["close"]),
                levels={},
                forecast=budget_fc.get(day),
                vix=f["fred_vix"],
                realized_vol=f["realized_vol_20d"],
                vix_weight=weight,
                vol_calibration_version=version,
            )
            row = evaluate_checklist(
                symbol=spec.symbol,
                date=day,
                horizons=spec.mc_horizons,
                metrics=[m for m in metrics if m["date"] == day],
                regime=regime.get(day),
                budget_inputs=inputs,
                cap=cap,
                feature=f,
                fib=fib.get(day),
                gamma=gamma.get(day),
                widths=width.filter(pl.col("date") <= day)["w"].to_list(),
                lines=lines.get(day),
                cfg=CONFIG,
            )
            out.append(row | {"computed_at": now_utc()})
        frame = pl.DataFrame(out, infer_schema_length=None) if out else pl.DataFrame()
        warehouse.replace_slice(TABLE, frame, start=start, end=end, symbol=spec.symbol)
        verdicts = dict(frame.group_by("verdict").len().rows()) if frame.height else {}
        return dg.MaterializeResult(
            metadata=slice_metadata(
                TABLE,
                frame,
                start,
                end,
                verdicts,
                {"budget_cap": str(cap) if cap is not None else "unset (MES_BUDGET_CAP_ZL)", "thresholds": str(CONFIG)},
            )
        )

    return _checklist


HIT_RATE_TABLE = "backtesting.checklist_hit_rate"


def build_hit_rate_asset(spec: InstrumentSpec) -> dg.AssetsDefinition:
    @dg.asset(
        name="checklist_hit_rate",
        key_prefix=[spec.key_prefix],
        group_name=spec.key_prefix,
        deps=[family_key(spec, "entry_checklist")],
        required_resource_keys={spec.warehouse_key},
        pool="warehouse",
        kinds={"bigquery", "polars"},
        description=f"{spec.symbol} procurement cost per checklist verdict vs an equal-time buyer (SPEC section 8).",
    )
    def _hit_rate(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        warehouse = instrument_warehouse(context, spec)
        decisions = warehouse.read(query("entry_checklist_verdicts"), {"symbol": spec.symbol})
        if decisions.is_empty():
            raise dg.Failure(f"no {spec.symbol} checklist decisions stored yet: materialize entry_checklist first")
        closes = warehouse.read(query("master_features_closes"), {"symbol": spec.symbol})
        rows = hit_rate(spec.symbol, decisions, closes, now_utc())
        day = rows["date"][0]
        warehouse.replace_slice(HIT_RATE_TABLE, rows, start=day, end=day, symbol=spec.symbol)
        return dg.MaterializeResult(
            metadata={
                "table": HIT_RATE_TABLE,
                "dagster/row_count": rows.height,
                **{
                    f"{r['verdict']}": (
                        f"n={r['n_decisions']}, {r['mean_diff_bps']:+.0f} bps vs equal-time"
                        if r["mean_diff_bps"] is not None
                        else f"n=0 ({r['n_unscored']} unscored)"
                    )
                    for r in rows.iter_rows(named=True)
                },
            }
        )

    return _hit_rate
