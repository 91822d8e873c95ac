-- One symbol's force-line groups up to a date, by date.
SELECT date, horizon, origin_ts, shap_vix, shap_yield, shap_trump, shap_cot
FROM explainability.force_lines
WHERE symbol = @symbol AND date <= @end_date
ORDER BY date
