-- One symbol's exchange sessions in a date range.
SELECT *
FROM dim.exchange_sessions
WHERE symbol = @symbol AND date BETWEEN @start_date AND @end_date
ORDER BY date
