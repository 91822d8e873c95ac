-- Every stored checklist hit-rate row of one symbol, newest run first.
SELECT *
FROM backtesting.checklist_hit_rate
WHERE symbol = @symbol
ORDER BY computed_at DESC
