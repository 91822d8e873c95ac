-- CFTC Commitments of Traders, one row per market and report. Partitioned by release date (the
-- first date the numbers were public) so point-in-time joins cannot see a report early.
CREATE TABLE IF NOT EXISTS raw_intelligence.cftc_cot (
  date DATE NOT NULL,           -- release date (Friday after the Tuesday report date)
  market_code STRING NOT NULL,  -- CFTC contract market code, e.g. '007601' soybean oil
  report_date DATE NOT NULL,    -- Tuesday the positions are as of
  market_name STRING,
  report_type STRING,           -- 'legacy', 'tff', 'disaggregated', 'legacy_derived_sergej'
  open_interest INT64,
  noncomm_long INT64,
  noncomm_short INT64,
  comm_long INT64,
  comm_short INT64,
  source STRING,
  ingested_at TIMESTAMP,
  -- TFF (traders in financial futures) categories; NULL for other report formats
  dealer_long INT64,
  dealer_short INT64,
  asset_mgr_long INT64,
  asset_mgr_short INT64,
  lev_money_long INT64,
  lev_money_short INT64,
  -- disaggregated categories; NULL for other report formats
  prod_merc_long INT64,
  prod_merc_short INT64,
  swap_long INT64,
  swap_short INT64,
  managed_money_long INT64,
  managed_money_short INT64
)
PARTITION BY date
CLUSTER BY market_code;
