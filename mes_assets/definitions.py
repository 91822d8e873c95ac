"""The one dg.Definitions of the mes_assets code location."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

from mes_assets.assets.drivers import cftc_cot, fred_sentiment_daily
from mes_assets.assets.factory import instrument_assets
from mes_assets.instruments import INSTRUMENTS
from mes_assets.jobs import backfill_jobs
from mes_assets.resources import resources_from_env


def build_definitions(resources: Mapping[str, dg.ConfigurableResource]) -> dg.Definitions:
    """Every asset, job and resource; tests pass their own resources (temporary warehouses)."""
    families = [asset for spec in INSTRUMENTS for asset in instrument_assets(spec)]
    return dg.Definitions(
        assets=[fred_sentiment_daily, cftc_cot, *families],
        jobs=backfill_jobs(),
        resources=dict(resources),
    )


defs = build_definitions(resources_from_env())
