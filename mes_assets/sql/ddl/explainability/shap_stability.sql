-- SHAP stability monitor (SPEC section 8): per date and horizon, over the last window_days forecasts
-- through date, the variance of each force line and each group's share of the absolute
-- contributions; dominance_flag marks one group dominating single forecasts (share > 0.6) for 20
-- consecutive forecasts, the cue to review that group's features for leakage.
CREATE TABLE IF NOT EXISTS explainability.shap_stability (
  date DATE NOT NULL,
  symbol STRING NOT NULL,
  horizon STRING NOT NULL,
  status STRING NOT NULL,        -- 'ok', 'insufficient_history' (< 20 forecasts) or 'no_group_signal'
  window_days INT64,
  n_obs INT64,
  var_vix FLOAT64,               -- variance of the raw group contribution, model output units squared
  var_yield FLOAT64,
  var_trump FLOAT64,
  var_cot FLOAT64,
  share_vix FLOAT64,             -- mean |contribution| / mean summed |contributions| of the 4 groups
  share_yield FLOAT64,
  share_trump FLOAT64,
  share_cot FLOAT64,
  dominant_group STRING,         -- group with the largest window share
  dominant_share FLOAT64,
  dominance_run_days INT64,      -- consecutive forecasts through date dominated by the same group
  dominance_flag BOOL,           -- dominance_run_days >= 20
  calc_version STRING,
  computed_at TIMESTAMP
)
PARTITION BY date
CLUSTER BY symbol;
