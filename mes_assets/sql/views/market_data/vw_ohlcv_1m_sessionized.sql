-- One-minute bars tagged with their exchange session and whether they lie in regular trading hours.
CREATE OR REPLACE VIEW market_data.vw_ohlcv_1m_sessionized AS
WITH sessions AS (
  SELECT symbol, session_id, session_open, session_close, rth_open, rth_close
  FROM dim.exchange_sessions
)
SELECT
  bars.date,
  bars.symbol,
  bars.ts_event,
  bars.open,
  bars.high,
  bars.low,
  bars.close,
  bars.volume,
  bars.source_symbol,
  bars.is_proxy,
  sessions.session_id,
  COALESCE(bars.ts_event >= sessions.rth_open AND bars.ts_event < sessions.rth_close, FALSE) AS is_rth
FROM market_data.databento_futures_ohlcv_1m AS bars
LEFT JOIN sessions
  ON sessions.symbol = bars.symbol
  AND bars.ts_event >= sessions.session_open
  AND bars.ts_event < sessions.session_close;
