-- Silver: readings typed, valid (a time, a non-negative kWh, a registered meter) and
-- deduplicated on (meter, time). What is dropped lands in silver.rejected_readings.
CREATE OR REPLACE TABLE {{ workspace }}_silver.readings AS
WITH typed AS (
    SELECT meter_id,
           TRY_CAST(read_at AS TIMESTAMP) AS read_at,
           TRY_CAST(kwh AS DOUBLE) AS kwh
    FROM {{ workspace }}_bronze.readings
),
ranked AS (
    SELECT t.meter_id, t.read_at, t.kwh,
           ROW_NUMBER() OVER (PARTITION BY t.meter_id, t.read_at ORDER BY t.kwh) AS copy_no
    FROM typed t
    WHERE t.read_at IS NOT NULL AND t.kwh IS NOT NULL AND t.kwh >= 0
      AND t.meter_id IN (SELECT meter_id FROM {{ workspace }}_bronze.meters)
)
SELECT meter_id, read_at, CAST(read_at AS DATE) AS read_date, kwh
FROM ranked
WHERE copy_no = 1
