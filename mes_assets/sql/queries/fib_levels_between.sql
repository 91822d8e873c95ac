-- One symbol's fib levels in a date range.
SELECT *
FROM signals.fib_levels
WHERE symbol = @symbol AND date BETWEEN @start_date AND @end_date
