-- Point-in-time daily features per session and instrument: every value was public by feature_asof,
-- so joining on date never looks ahead (FRED: that day's close; COT: Friday release of Tuesday's
-- positions). Missing stays NULL, never zero. Feature names are the model's column names.
CREATE TABLE IF NOT EXISTS features.master_features (
  date DATE NOT NULL,            -- session date the features describe (as of its close)
  symbol STRING NOT NULL,
  close FLOAT64,                 -- session close (RTH close for MES, settlement-session close for ZL)
  ret_1d FLOAT64,                -- log return close-to-close, 1 session
  ret_5d FLOAT64,                -- log return over 5 sessions
  realized_vol_20d FLOAT64,      -- annualised (fraction), from 20 daily log returns
  atr_14 FLOAT64,                -- 14-session ATR, price units
  fred_vix FLOAT64,              -- VIXCLS, index points
  vix_chg_1d FLOAT64,            -- VIX change over 1 observation, index points
  vix_chg_5d FLOAT64,
  fred_dgs2 FLOAT64,             -- 2-year Treasury yield, percent
  fred_dgs10 FLOAT64,            -- 10-year Treasury yield, percent
  yield_spread_10y2y_bps FLOAT64, -- (fred_dgs10 - fred_dgs2) * 100
  dgs10_chg_5d_bps FLOAT64,
  cftc_net_spec INT64,           -- non-commercial long - short, contracts
  cftc_net_comm INT64,           -- commercial long - short, contracts
  cftc_net_spec_chg_1w INT64,    -- change from the previous report
  cftc_net_comm_chg_1w INT64,
  cftc_net_spec_pct_oi FLOAT64,  -- cftc_net_spec / open interest * 100
  cftc_net_spec_pctile_3y FLOAT64, -- percentile (0-100) of cftc_net_spec over the prior 3 years of reports
  cftc_report_date DATE,         -- Tuesday the latest released COT positions are as of
  policy_trade_war_2017_19 INT64, -- 1 inside the 2017-19 trade-war regime window, else 0
  policy_regime_2023_25 INT64,   -- 1 inside the 2023-25 policy regime window, else 0
  feature_asof TIMESTAMP NOT NULL, -- UTC instant the last input of this row became public
  calc_version STRING,
  dist_to_last_pivot_atr FLOAT64, -- (close - last confirmed zig-zag pivot) / atr_14
  feed_rfs_rin FLOAT64,          -- pluggable RFS/RIN feed (MES_FEED_RFS_RIN_CSV); NULL when not configured
  feed_policy_sentiment FLOAT64  -- pluggable policy/sentiment feed (MES_FEED_POLICY_SENTIMENT_CSV); NULL when not configured
)
PARTITION BY date
CLUSTER BY symbol;
