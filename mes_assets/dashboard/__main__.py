"""``python -m mes_assets.dashboard [--mes] [--port N]``."""

import sys

from mes_assets.dashboard.app import main

sys.exit(main())
