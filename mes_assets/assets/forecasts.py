"""Pinball bands, SHAP values and force lines of the walk-forward XGBoost quantile model."""

import dagster as dg
import polars as pl

from mes_assets.assets._slices import instrument_warehouse, now_utc
from mes_assets.forecasts import HORIZON_SESSIONS, forecast_tables
from mes_assets.instruments import InstrumentSpec
from mes_assets.partitions import partition_dates, trading_day_partitions

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
