-- The six entry checks of SPEC section 5 and the verdict they give (procurement, not a trade).
-- check_budget_risk is three-valued; it counts as passed unless it is 'defer'. Verdict: 6/6 ->
-- 'EXECUTE' (tranche 100), 4-5/6 -> 'PARTIAL' (tranche 50), <= 3/6 -> 'WAIT' (tranche 0).
-- Seed columns first, added columns after.
CREATE TABLE IF NOT EXISTS signals.entry_checklist (
  date DATE NOT NULL,
  symbol STRING NOT NULL,
  check_model_health BOOL,       -- 60-day coverage within tolerance and pinball loss improving
  check_regime_valid BOOL,       -- live regime confidence >= 0.7 and matches the trained slice
  check_budget_risk STRING,      -- 'aggressive' (>= 30%), 'partial' (15-30%), 'defer' (< 15%)
  check_confluence BOOL,         -- within 0.3 sd of Fib 38.2/61.8 and a supportive gamma wall
  check_positioning BOOL,        -- COT specs below the 90th percentile long
  check_vol_sanity BOOL,         -- VIX under the stress threshold, quantile width not exploding
  tranche_pct FLOAT64,           -- 0-100
  rationale STRING,              -- top 2 SHAP groups by |contribution|, in bps of P50
  verdict STRING,                -- 'EXECUTE', 'PARTIAL', 'WAIT'
  checks_passed INT64,           -- 0..6
  budget_cap FLOAT64,            -- user-configured cap per symbol, price units; never inferred
  p_budget_breach FLOAT64,       -- Pr(price >= budget_cap) over budget_horizon, from Monte-Carlo
  budget_horizon STRING,         -- '1w' or '1m'
  regime_confidence FLOAT64,     -- in [0, 1]
  calc_version STRING,
  computed_at TIMESTAMP,
  check_notes STRING,            -- per check, why it passed or failed (a missing input fails and is named)
  ladder_level FLOAT64           -- PARTIAL: the next Fib retracement below the close, where the ladder continues
)
PARTITION BY date
CLUSTER BY symbol;
