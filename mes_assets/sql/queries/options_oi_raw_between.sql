-- One symbol's raw option open-interest rows in a date range.
SELECT *
FROM derivatives.options_oi_raw
WHERE symbol = @symbol AND date BETWEEN @start_date AND @end_date
