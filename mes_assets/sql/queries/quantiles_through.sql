-- One symbol's stored forecasts up to a date, by date.
SELECT *
FROM predictions.quantiles
WHERE symbol = @symbol AND date <= @end_date
ORDER BY date
