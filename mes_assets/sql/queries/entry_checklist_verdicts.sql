-- Every stored checklist verdict of one symbol.
SELECT date, verdict
FROM signals.entry_checklist
WHERE symbol = @symbol
