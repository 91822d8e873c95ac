"""The one dg.Definitions of the mes_assets code location."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

from mes_assets.defs.drivers import cftc_cot, fred_sentiment_daily
from mes_assets.defs.factory import instrument_assets
from mes_assets.defs.jobs import backfill_jobs
from mes_assets.defs.resources import resources_from_env
from mes_assets.defs.sensors import build_zigzag_sensor
from mes_assets.instruments import INSTRUMENTS


def build_definitions(resources: Mapping[str, dg.ConfigurableResource]) -> dg.Definitions:
    """Every asset, job and resource; tests pass their own resources (temporary warehouses)."""
    families = [asset for spec in INSTRUMENTS for asset in instrument_assets(spec)]
    assets = [fred_sentiment_daily, cftc_cot, *families]
    return dg.Definitions(
        assets=assets,
        jobs=backfill_jobs(),
        sensors=[build_zigzag_sensor(assets)],
        resources=dict(resources),
    )


defs = build_definitions(resources_from_env())
