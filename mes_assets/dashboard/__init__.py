"""The web dashboards (Dash/Plotly): two separate apps over the api views, never over raw tables.

- ``procurement`` (ZL, shared warehouse): ``api.vw_zl_strategy_overlay`` and the EXECUTE button,
  which records a procurement ticket (not a trade) in ``signals.procurement_tickets``.
- ``mes`` (private warehouse, its own process and port): ``api.vw_mes_private_overlay``, read-only.

Each app is given exactly one warehouse resource and refuses the other audience's, so the
procurement app cannot open the private warehouse. Serve with
``python -m mes_assets.dashboard [--mes] [--port N]``.
"""

from mes_assets.dashboard.pages import MES_PAGE, PAGES, PROCUREMENT_PAGE, PageSpec

__all__ = ["MES_PAGE", "PAGES", "PROCUREMENT_PAGE", "PageSpec"]
