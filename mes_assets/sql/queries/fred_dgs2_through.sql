-- FRED DGS2 (2-year Treasury, percent) observations up to a date, by date: the as-of risk-free rate.
SELECT date, value
FROM raw_intelligence.sentiment_daily
WHERE series_id = 'DGS2' AND value IS NOT NULL AND date <= @end_date
ORDER BY date
