-- Checklist hit-rate (SPEC section 8): per decision class, the average procurement cost of buying on
-- the decision day against an equal-time buyer spreading the purchase over the next
-- horizon_sessions sessions, on the stored checklist history. mean_diff_bps < 0: the decision day
-- was cheaper (what EXECUTE should achieve); for WAIT > 0 means waiting was right.
CREATE TABLE IF NOT EXISTS backtesting.checklist_hit_rate (
  date DATE NOT NULL,            -- last decision date the run saw
  symbol STRING NOT NULL,
  verdict STRING NOT NULL,       -- 'EXECUTE', 'PARTIAL', 'WAIT'
  horizon_sessions INT64,
  n_decisions INT64,             -- decisions with a complete equal-time window
  n_unscored INT64,              -- decisions whose window is not complete yet
  mean_cost FLOAT64,             -- mean close on the decision days, price units
  mean_equal_time_cost FLOAT64,  -- mean of the next horizon_sessions closes, averaged over decisions
  mean_diff_bps FLOAT64,         -- mean (cost / equal_time - 1) x 1e4
  share_cheaper FLOAT64,         -- share of decisions cheaper than their equal-time baseline
  first_decision DATE,
  calc_version STRING,
  computed_at TIMESTAMP
)
PARTITION BY date
CLUSTER BY symbol;
