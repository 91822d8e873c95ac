"""explainability.shap_stability: force-line variance and persistent-dominance monitor."""

import dagster as dg

from mes_assets.defs._slices import family_asset, family_key, instrument_warehouse, now_utc, slice_metadata
from mes_assets.defs.partitions import partition_dates
from mes_assets.forecast.shap_stability import shap_stability
from mes_assets.instruments import InstrumentSpec
from mes_assets.warehouse.queries import query

TABLE = "explainability.shap_stability"


def build_shap_stability_asset(spec: InstrumentSpec) -> dg.AssetsDefinition:
    @family_asset(
        spec,
        "shap_stability",
        kinds={"bigquery", "polars"},
        deps=[family_key(spec, "force_lines")],
        description=f"{spec.symbol} SHAP group variance and persistent-dominance flag (SPEC section 8).",
    )
    def _stability(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        start, end = partition_dates(context)
        warehouse = instrument_warehouse(context, spec)
        lines = warehouse.read(
            query("force_lines_through"),
            {"symbol": spec.symbol, "end_date": end},
        )
        rows = shap_stability(spec.symbol, lines, now_utc())
        rows = rows.filter(rows["date"].is_between(start, end))
        warehouse.replace_slice(TABLE, rows, start=start, end=end, symbol=spec.symbol)
        flagged = rows.filter(rows["dominance_flag"].fill_null(False))
        return dg.MaterializeResult(
            metadata=slice_metadata(
                TABLE,
                rows,
                start,
                end,
                dict(rows.group_by("status").len().rows()),
                {
                    "dominance_flags": flagged.height,
                    "flagged_groups": ", ".join(sorted(set(flagged["dominant_group"].drop_nulls()))) or "none",
                },
            )
        )

    return _stability
