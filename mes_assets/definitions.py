"""The one dg.Definitions of the mes_assets code location."""

from __future__ import annotations

import dagster as dg

from mes_assets.assets.drivers import cftc_cot, fred_sentiment_daily
from mes_assets.assets.factory import instrument_assets
from mes_assets.instruments import INSTRUMENTS
from mes_assets.jobs import backfill_jobs
from mes_assets.resources import resources_from_env

instrument_families = [a for spec in INSTRUMENTS for a in instrument_assets(spec)]

defs = dg.Definitions(
    assets=[fred_sentiment_daily, cftc_cot, *instrument_families],
    jobs=backfill_jobs(),
    resources=resources_from_env(),
)
