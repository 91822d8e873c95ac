-- One symbol's one-week force lines in a date range.
SELECT *
FROM explainability.force_lines
WHERE symbol = @symbol AND date BETWEEN @start_date AND @end_date
  AND horizon = '1w'
