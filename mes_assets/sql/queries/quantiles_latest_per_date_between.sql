-- The latest forecast of each date and horizon (MES: the last five-minute origin that has one).
SELECT *
FROM predictions.quantiles
WHERE symbol = @symbol AND date BETWEEN @start_date AND @end_date
QUALIFY ROW_NUMBER() OVER (PARTITION BY date, horizon ORDER BY origin_ts DESC) = 1
