-- RTH high / low / close per session and instrument, from one-minute bars.
CREATE OR REPLACE VIEW market_data.vw_rth_session_summary AS
WITH rth_bars AS (
  SELECT
    symbol, session_id, date, ts_event, high, low,
    LAST_VALUE(close) OVER (
      PARTITION BY symbol, session_id ORDER BY ts_event
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    ) AS session_last_close
  FROM market_data.vw_ohlcv_1m_sessionized
  WHERE is_rth
)
SELECT
  date,
  symbol,
  session_id,
  MAX(high) AS rth_high,
  MIN(low) AS rth_low,
  ANY_VALUE(session_last_close) AS rth_close,
  COUNT(*) AS rth_bar_count,
  MIN(ts_event) AS first_bar_start,
  MAX(ts_event) AS last_bar_start
FROM rth_bars
GROUP BY date, symbol, session_id;
