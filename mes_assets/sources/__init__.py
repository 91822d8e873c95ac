"""Data-source layer: recorded-file replay and live clients, both returning fixed schemas.

No Dagster imports here; the resource layer wraps these classes. See ``schemas`` for the
schemas, ``replay`` for the recorded real files, ``live`` for Databento / FRED / CFTC.
"""

from mes_assets.sources.errors import (
    DataQualityError,
    MissingCredentialsError,
    SourceUnavailableError,
)
from mes_assets.sources.live import (
    CFTC_DATASETS,
    CftcLiveClient,
    DatabentoMarketData,
    FredLiveClient,
    build_cftc_url,
    cftc_rows_to_frame,
    fred_observations_to_frame,
    ohlcv_store_to_frame,
)
from mes_assets.sources.replay import ReplayCot, ReplayFred, ReplayMarketData
from mes_assets.sources.schemas import (
    COT,
    COT_REPORT_TYPES,
    DAILY_BARS,
    FRED,
    MINUTE_BARS,
    check_schema,
    cot_release_date,
    empty_frame,
    validate_bars,
)

__all__ = [
    "CFTC_DATASETS",
    "COT",
    "COT_REPORT_TYPES",
    "DAILY_BARS",
    "FRED",
    "MINUTE_BARS",
    "CftcLiveClient",
    "DataQualityError",
    "DatabentoMarketData",
    "FredLiveClient",
    "MissingCredentialsError",
    "ReplayCot",
    "ReplayFred",
    "ReplayMarketData",
    "SourceUnavailableError",
    "build_cftc_url",
    "cftc_rows_to_frame",
    "check_schema",
    "cot_release_date",
    "empty_frame",
    "fred_observations_to_frame",
    "ohlcv_store_to_frame",
    "validate_bars",
]
