-- One symbol's GEX surface rows in a date range.
SELECT *
FROM derivatives.gex_surface
WHERE symbol = @symbol AND date BETWEEN @start_date AND @end_date
