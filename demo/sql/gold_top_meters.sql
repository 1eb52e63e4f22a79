-- Gold: the twenty meters that used the most energy over the whole period.
CREATE OR REPLACE TABLE {{ workspace }}_gold.top_meters AS
SELECT r.meter_id, m.region, m.tariff, ROUND(SUM(r.kwh), 3) AS total_kwh
FROM {{ workspace }}_silver.readings r
JOIN {{ workspace }}_silver.meters m ON m.meter_id = r.meter_id
GROUP BY r.meter_id, m.region, m.tariff
ORDER BY total_kwh DESC
LIMIT 20
