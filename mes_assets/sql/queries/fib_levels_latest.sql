-- The newest fib-level row of one symbol.
SELECT *
FROM signals.fib_levels
WHERE symbol = @symbol
ORDER BY date DESC
LIMIT 1
