-- SHAP of the P50 prediction summed into four groups (VIX, Yield, Trump/Policy, COT), per date and
-- horizon. The seed columns are the raw group sums, in the P50 output's units, so they stay
-- additive: base_value + shap_sum + shap_other = p50_prediction. The plotted lines are the *_ema
-- columns: clipped at the 1%/99% quantiles, then a 7-day EMA; the right axis spans +-plot_scale.
-- Seed columns first, added columns after.
CREATE TABLE IF NOT EXISTS explainability.force_lines (
  date DATE NOT NULL,
  symbol STRING NOT NULL,
  horizon STRING NOT NULL,
  shap_vix FLOAT64,              -- fred_vix, realized vol, VIX deltas
  shap_yield FLOAT64,            -- fred_dgs2, fred_dgs10, spreads
  shap_trump FLOAT64,            -- policy regime flags and policy feeds
  shap_cot FLOAT64,              -- cftc_net_spec, cftc_net_comm, weekly changes
  shap_sum FLOAT64,              -- shap_vix + shap_yield + shap_trump + shap_cot
  shap_other FLOAT64,            -- features in no group
  base_value FLOAT64,            -- model's expected output (bias term)
  p50_prediction FLOAT64,        -- the P50 output the contributions explain
  shap_vix_ema FLOAT64,          -- clipped then 7-day EMA: the line that is plotted
  shap_yield_ema FLOAT64,
  shap_trump_ema FLOAT64,
  shap_cot_ema FLOAT64,
  plot_scale FLOAT64,            -- 2 sd of the group contributions: right axis runs -plot_scale..+plot_scale
  output_unit STRING,            -- unit of the model output, e.g. 'log_return'
  model_version STRING,
  calc_version STRING,
  origin_ts TIMESTAMP            -- intraday horizons: bar close of the forecast (NULL for daily); EMA runs over origins
)
PARTITION BY date
CLUSTER BY symbol;
