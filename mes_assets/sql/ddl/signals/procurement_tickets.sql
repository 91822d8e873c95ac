-- Procurement tickets recorded by the dashboard's EXECUTE button: a decision record, not a trade.
-- At most one ticket per date and symbol: the first press wins and later presses leave it unchanged
-- (mes_assets/dashboard/tickets.py). The checklist columns are a copy of api.vw_zl_strategy_overlay
-- for that date at the moment of the press, so the ticket stays auditable if the checklist is
-- recomputed later. Procurement-only: the shared warehouse holds it, the private one does not.
-- audience: shared
CREATE TABLE IF NOT EXISTS signals.procurement_tickets (
  date DATE NOT NULL,            -- as-of date of the checklist the ticket acts on
  symbol STRING NOT NULL,
  ticket_id STRING NOT NULL,     -- '<symbol>-<date>': one per date and symbol
  verdict STRING,                -- checklist verdict at the press: 'EXECUTE', 'PARTIAL' or 'WAIT' (no-go)
  tranche_pct FLOAT64,           -- 0-100, the checklist's tranche at the press
  checks_passed INT64,           -- 0..6
  check_model_health BOOL,
  check_regime_valid BOOL,
  check_budget_risk STRING,      -- 'aggressive', 'partial', 'defer'
  check_confluence BOOL,
  check_positioning BOOL,
  check_vol_sanity BOOL,
  rationale STRING,
  ref_close FLOAT64,             -- close on date, price units (the view's close)
  requested_by STRING NOT NULL,  -- MES_DASHBOARD_USER, else the OS user running the dashboard
  requested_at TIMESTAMP NOT NULL, -- UTC time of the first press
  source STRING,                 -- 'dashboard' and the host it ran on
  app_version STRING
)
PARTITION BY date
CLUSTER BY symbol;
