"""The quantile levels every forecast is made of (SPEC: P10, P25, P50, P75, P90), defined once.

Kept in kernels/ so the numerics can default to it without importing anything above them;
:mod:`mes_assets.horizons` re-exports it with the column names for the rest of the project.
"""

from __future__ import annotations

QUANTILE_LEVELS: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9)
