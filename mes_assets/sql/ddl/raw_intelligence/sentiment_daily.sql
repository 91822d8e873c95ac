-- Daily macro drivers (FRED VIXCLS, DGS2, DGS10), long format. value IS NULL where FRED publishes
-- '.' or a blank (market holiday): missing, never zero.
CREATE TABLE IF NOT EXISTS raw_intelligence.sentiment_daily (
  date DATE NOT NULL,           -- observation date (known at that day's close)
  series_id STRING NOT NULL,    -- FRED series id
  value FLOAT64,
  source STRING,
  ingested_at TIMESTAMP
)
PARTITION BY date
CLUSTER BY series_id;
