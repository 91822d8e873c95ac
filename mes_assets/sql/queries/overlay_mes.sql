-- Every row of the private MES overlay view for one symbol, oldest first (private warehouse).
SELECT *
FROM api.vw_mes_private_overlay
WHERE symbol = @symbol
ORDER BY date
