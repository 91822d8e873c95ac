"""Where recorded real data is replayed from.

Order: ``MES_DATA_DIR`` if set; else ``../shared/data`` beside the repository (the full recorded
samples); else the small vendored copy in ``sample_data/`` (byte-for-byte, see its PROVENANCE.md),
so the demo runs on a fresh clone with nothing beside it.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
VENDORED_DATA = REPO_ROOT / "sample_data"


def resolve_data_dir(explicit: str | None = None) -> Path:
    """The replay root; raises FileNotFoundError naming what was tried."""
    candidates: list[Path]
    if explicit:
        candidates = [Path(explicit)]
    elif os.environ.get("MES_DATA_DIR"):
        candidates = [Path(os.environ["MES_DATA_DIR"])]
    else:
        candidates = [SHARED_DATA, VENDORED_DATA]
    for path in candidates:
        if path.is_dir():
            return path.resolve()
    tried = ", ".join(str(p) for p in candidates)
    raise FileNotFoundError(f"no recorded data directory found (tried {tried}); set MES_DATA_DIR")
