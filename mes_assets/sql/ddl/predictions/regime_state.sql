-- Live market regime per session (SPEC section 5, check 2): a two-state Markov-switching model on
-- (daily log return, ln VIX), fitted walk-forward on the sessions before each refit; p_stress is the
-- FILTERED probability (data through this session's close only). The checklist passes the regime
-- check when confidence >= its threshold and in_training_slice is true.
CREATE TABLE IF NOT EXISTS predictions.regime_state (
  date DATE NOT NULL,
  symbol STRING NOT NULL,
  status STRING NOT NULL,        -- 'ok' or why there is no estimate (e.g. insufficient_history)
  regime STRING,                 -- 'calm' or 'stress' (the state with the higher mean VIX)
  p_stress FLOAT64,              -- filtered Pr(stress | data through date)
  confidence FLOAT64,            -- max(p_stress, 1 - p_stress)
  train_days INT64,              -- sessions the model was fitted on
  regime_train_days INT64,       -- training sessions whose own filtered regime equals today's
  in_training_slice BOOL,        -- regime_train_days >= 20: today's regime was seen in training
  ret_vol_calm FLOAT64,          -- daily log-return sd in each state
  ret_vol_stress FLOAT64,
  vix_calm FLOAT64,              -- exp(mean ln VIX) in each state, index points
  vix_stress FLOAT64,
  p_stay_calm FLOAT64,           -- transition matrix diagonal
  p_stay_stress FLOAT64,
  loglik FLOAT64,                -- training log-likelihood
  converged BOOL,                -- EM converged within its iteration cap
  model_version STRING,
  trained_through DATE,          -- last session in the training slice (< date)
  calc_version STRING,
  computed_at TIMESTAMP
)
PARTITION BY date
CLUSTER BY symbol;
