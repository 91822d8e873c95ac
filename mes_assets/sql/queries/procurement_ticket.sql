-- The first ticket recorded for one date and symbol.
SELECT *
FROM signals.procurement_tickets
WHERE date = @day AND symbol = @symbol
ORDER BY requested_at
LIMIT 1
