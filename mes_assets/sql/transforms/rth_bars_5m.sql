-- Five-minute RTH bars for one instrument and a date range: the bars MES's zig-zag and ATR run on.
-- Buckets are aligned to the clock (09:30, 09:35, ... ET) and hold the minutes present; bar_end is
-- when the bar became knowable (bucket end, or the RTH close on an early-close day). A bucket still
-- forming (its end lies after the newest recorded minute) is left out: it is not yet a bar.
WITH recorded_through AS (
  SELECT TIMESTAMP_ADD(MAX(ts_event), INTERVAL 1 MINUTE) AS data_end
  FROM market_data.databento_futures_ohlcv_1m
  WHERE symbol = @symbol
    AND date <= @end_date
),
rth_minutes AS (
  SELECT bars.date, bars.symbol, bars.session_id, bars.ts_event, bars.open, bars.high, bars.low,
    bars.close, bars.volume, sessions.rth_close
  FROM market_data.vw_ohlcv_1m_sessionized AS bars
  JOIN dim.exchange_sessions AS sessions
    ON sessions.symbol = bars.symbol AND sessions.session_id = bars.session_id
  WHERE bars.is_rth
    AND bars.symbol = @symbol
    AND bars.date BETWEEN @start_date AND @end_date
),
bucketed AS (
  SELECT
    *,
    TIMESTAMP_SECONDS(DIV(UNIX_SECONDS(ts_event), 300) * 300) AS bar_start
  FROM rth_minutes
),
with_edges AS (
  SELECT
    *,
    FIRST_VALUE(open) OVER bucket_minutes AS bucket_open,
    LAST_VALUE(close) OVER bucket_minutes AS bucket_close
  FROM bucketed
  WINDOW bucket_minutes AS (
    PARTITION BY symbol, bar_start ORDER BY ts_event
    ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
  )
)
SELECT
  date,
  symbol,
  session_id,
  bar_start,
  LEAST(TIMESTAMP_ADD(bar_start, INTERVAL 5 MINUTE), MAX(rth_close)) AS bar_end,
  ANY_VALUE(bucket_open) AS open,
  MAX(high) AS high,
  MIN(low) AS low,
  ANY_VALUE(bucket_close) AS close,
  SUM(volume) AS volume,
  COUNT(*) AS minute_count
FROM with_edges
GROUP BY date, symbol, session_id, bar_start
HAVING bar_end <= (SELECT data_end FROM recorded_through)
ORDER BY bar_start
