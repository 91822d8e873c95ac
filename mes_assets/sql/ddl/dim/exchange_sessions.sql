-- Trading sessions from the exchange calendar (pandas_market_calendars): DST-correct, holidays, early closes.
-- A date without a row is not a session of that instrument's exchange.
CREATE TABLE IF NOT EXISTS dim.exchange_sessions (
  date DATE NOT NULL,           -- trading date the session settles on
  symbol STRING NOT NULL,
  session_id STRING NOT NULL,   -- '<symbol>-<YYYY-MM-DD>'
  calendar_name STRING,         -- e.g. 'CME_Equity', 'CBOT_Agriculture'
  session_open TIMESTAMP,       -- UTC; first bar of the session starts here
  session_close TIMESTAMP,      -- UTC; exclusive
  rth_open TIMESTAMP,           -- regular trading hours (UTC); NULL when the session has none
  rth_close TIMESTAMP,
  is_early_close BOOL,
  rth_calendar_name STRING      -- calendar RTH comes from, e.g. 'NYSE' for equity-index futures
)
PARTITION BY date
CLUSTER BY symbol;
