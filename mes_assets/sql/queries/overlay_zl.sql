-- Every row of the procurement overlay view for one symbol, oldest first (shared warehouse).
SELECT *
FROM api.vw_zl_strategy_overlay
WHERE symbol = @symbol
ORDER BY date
