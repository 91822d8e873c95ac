-- One-minute RTH bars for one instrument and a date range, in the shape of rth_bars_5m.sql: the
-- finest origin grid of the Monte-Carlo backtest. bar_end (ts_event + 1 minute) is when the bar
-- became knowable.
SELECT
  bars.date,
  bars.symbol,
  bars.session_id,
  bars.ts_event AS bar_start,
  TIMESTAMP_ADD(bars.ts_event, INTERVAL 1 MINUTE) AS bar_end,
  bars.open,
  bars.high,
  bars.low,
  bars.close,
  bars.volume,
  1 AS minute_count
FROM market_data.vw_ohlcv_1m_sessionized AS bars
WHERE bars.is_rth
  AND bars.symbol = @symbol
  AND bars.date BETWEEN @start_date AND @end_date
ORDER BY bar_start
