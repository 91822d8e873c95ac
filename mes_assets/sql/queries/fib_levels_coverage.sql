-- Rows and date range of one symbol's fib levels.
SELECT COUNT(*) AS n, MIN(date) AS first_date, MAX(date) AS last_date
FROM signals.fib_levels
WHERE symbol = @symbol
