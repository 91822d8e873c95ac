-- Every stored session close of one symbol.
SELECT date, close
FROM features.master_features
WHERE symbol = @symbol
