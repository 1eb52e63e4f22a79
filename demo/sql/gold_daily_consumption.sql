-- Gold: daily consumption per region and tariff.
CREATE OR REPLACE TABLE {{ workspace }}_gold.daily_consumption AS
SELECT r.read_date, m.region, m.tariff,
       COUNT(DISTINCT r.meter_id) AS meters,
       COUNT(*) AS readings,
       ROUND(SUM(r.kwh), 3) AS total_kwh
FROM {{ workspace }}_silver.readings r
JOIN {{ workspace }}_silver.meters m ON m.meter_id = r.meter_id
GROUP BY r.read_date, m.region, m.tariff
