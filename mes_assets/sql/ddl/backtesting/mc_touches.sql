-- Monte-Carlo tap probability per level and horizon: Pr(path max >= level) for levels above spot,
-- Pr(path min <= level) for levels below, with Brownian-bridge crossing between steps so coarse
-- steps do not miss touches. The interval is Wilson 95% (the spec's Wald interval collapses at p = 0
-- or 1; the two agree to 1e-3 elsewhere at 10,000 paths). Seed columns first, added columns after.
CREATE TABLE IF NOT EXISTS backtesting.mc_touches (
  date DATE NOT NULL,            -- forecast date (session the run is as of)
  symbol STRING NOT NULL,
  horizon STRING NOT NULL,       -- '1w', '1m', '5m', '15m', '60m'
  level_tag STRING NOT NULL,     -- 'fib_618', 'gamma_wall_1', etc.
  level_price FLOAT64,
  tap_prob FLOAT64,              -- in [0, 1]
  tap_prob_ci_low FLOAT64,
  tap_prob_ci_high FLOAT64,
  exp_time_to_touch FLOAT64,     -- conditional on touching; NULL when no path touches
  path_var95 FLOAT64,            -- 95th percentile adverse excursion toward the level, price units
  exp_time_to_touch_unit STRING, -- unit of exp_time_to_touch: 'minutes' (MES) or 'trading_days' (ZL)
  level_side STRING,             -- 'above' (touch = running max >= level) or 'below' (running min <= level)
  spot FLOAT64,                  -- price the paths start from
  level_distance_bps FLOAT64,    -- (level_price / spot - 1) * 1e4, signed
  n_paths INT64,
  n_steps INT64,                 -- steps per path over the horizon (native bar frequency)
  sigma_annual FLOAT64,          -- annualised volatility the bridge used (fraction, 0.18 = 18%)
  vol_source STRING,             -- 'fred_vix', 'realized', 'garch', 'blend'
  drift_source STRING,           -- e.g. 'quantile_p50'
  ci_method STRING,              -- 'wilson'
  method STRING,                 -- 'conditional_bridge' (terminal draws only) or 'stepwise_bridge'
  seed INT64,                    -- RNG seed: the run is reproducible from it
  quantile_model_version STRING, -- predictions.quantiles model the terminal distribution came from
  calc_version STRING,
  computed_at TIMESTAMP,
  terminal_source STRING,        -- 'quantile_model' (P10..P90 of the forecast) or 'normal_vol_only' (no forecast: zero drift)
  vol_calibration_version STRING, -- backtesting.mc_calibration version of the VIX/realized weight; NULL = not blended
  origin_ts TIMESTAMP            -- MES: five-minute origin the run starts from (NULL: ZL session close)
)
PARTITION BY date
CLUSTER BY symbol;
