"""Pinball bands, SHAP values and force lines of the walk-forward XGBoost quantile model."""

import dagster as dg
import polars as pl

from mes_assets.assets._slices import family_asset, family_key, instrument_warehouse, now_utc
from mes_assets.forecasts import HORIZON_SESSIONS, forecast_tables
from mes_assets.model_health import model_health
from mes_assets.instruments import InstrumentSpec
from mes_assets.partitions import partition_dates, trading_day_partitions

HEALTH_TABLE = "predictions.model_metrics"
TABLES = {
    "pinball_bands": "predictions.quantiles",
    "shap_values": "explainability.shap_values",
    "force_lines": "explainability.force_lines",
    "model_registry": "predictions.model_registry",
}


def build_forecast_assets(spec: InstrumentSpec, features_asset: dg.AssetsDefinition) -> dg.AssetsDefinition:
    keys = {name: dg.AssetKey([spec.key_prefix, name]) for name in TABLES}

    @dg.multi_asset(
        name=f"{spec.key_prefix}_quantile_model",
        specs=[
            dg.AssetSpec(key, deps=[features_asset], group_name=spec.key_prefix,
                         kinds={"bigquery", "xgboost"}, description=f"{spec.symbol}: {TABLES[name]}")
            for name, key in keys.items()
        ],
        partitions_def=trading_day_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        required_resource_keys={spec.warehouse_key},
        pool="warehouse",
    )
    def _model(context: dg.AssetExecutionContext):
        """Walk-forward XGBoost quantile model (P10..P90) per horizon, TreeSHAP of the P50."""
        start, end = partition_dates(context)
        warehouse = instrument_warehouse(context, spec)
        features = warehouse.read(
            "SELECT * FROM features.master_features WHERE symbol = @symbol AND date <= @end_date "
            "ORDER BY date", {"symbol": spec.symbol, "end_date": end},
        )
        frames = {name: [] for name in TABLES}
        crossing = {}
        stamp = now_utc()
        for horizon in spec.mc_horizons:
            if horizon not in HORIZON_SESSIONS or features.is_empty():
                continue
            out = forecast_tables(spec.symbol, horizon, features, start, end, stamp)
            frames["pinball_bands"].append(out.quantiles)
            frames["shap_values"].append(out.shap_values)
            frames["force_lines"].append(out.force_lines)
            frames["model_registry"].append(out.registry)
            crossing[horizon] = round(out.crossing_rate, 4)
        for name, table in TABLES.items():
            frame = pl.concat(frames[name]) if frames[name] else pl.DataFrame()
            warehouse.replace_slice(table, frame, start=start, end=end, symbol=spec.symbol)
            yield dg.MaterializeResult(
                asset_key=keys[name],
                metadata={"table": table, "dagster/row_count": frame.height,
                          "horizons": ", ".join(crossing) or "none (no daily horizon or no features)",
                          "crossing_rate_before_repair": str(crossing)},
            )

    return _model


def build_model_health_asset(spec: InstrumentSpec, forecasts: dg.AssetsDefinition) -> dg.AssetsDefinition:
    @family_asset(
        spec, "model_health", kinds={"bigquery", "polars"},
        deps=[family_key(spec, "pinball_bands")],
        description=f"{spec.symbol} rolling 60-forecast band coverage, pinball loss and Kupiec test.",
    )
    def _health(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        start, end = partition_dates(context)
        warehouse = instrument_warehouse(context, spec)
        bands = warehouse.read(
            "SELECT * FROM predictions.quantiles WHERE symbol = @symbol AND date <= @end_date",
            {"symbol": spec.symbol, "end_date": end},
        )
        closes = warehouse.read(
            "SELECT date, close FROM features.master_features WHERE symbol = @symbol AND date <= @end_date",
            {"symbol": spec.symbol, "end_date": end},
        )
        days = [d for d in closes["date"].to_list() if start <= d <= end]
        rows = model_health(spec.symbol, bands, closes, days, now_utc()) if bands.height else pl.DataFrame()
        warehouse.replace_slice(HEALTH_TABLE, rows, start=start, end=end, symbol=spec.symbol)
        latest = rows.sort("date").group_by("horizon").last() if rows.height else pl.DataFrame()
        return dg.MaterializeResult(metadata={
            "table": HEALTH_TABLE, "dagster/row_count": rows.height,
            **{f"coverage_80_{r['horizon']}": round(r["coverage_80"], 3) for r in latest.iter_rows(named=True)},
            **{f"kupiec_p_{r['horizon']}": round(r["kupiec_p_value"], 4) for r in latest.iter_rows(named=True)},
        })

    return _health
