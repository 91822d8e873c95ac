-- Every stored FRED observation up to a date, by series and date.
SELECT date, series_id, value
FROM raw_intelligence.sentiment_daily
WHERE date <= @end_date
ORDER BY series_id, date
