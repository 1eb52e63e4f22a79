-- Silver: the quality report, one row per rejected reading with the first reason found.
CREATE OR REPLACE TABLE {{ workspace }}_silver.rejected_readings AS
SELECT r.meter_id, r.read_at, r.kwh,
       CASE
           WHEN TRY_CAST(r.read_at AS TIMESTAMP) IS NULL THEN 'bad_timestamp'
           WHEN TRY_CAST(r.kwh AS DOUBLE) IS NULL THEN 'missing_kwh'
           WHEN TRY_CAST(r.kwh AS DOUBLE) < 0 THEN 'negative_kwh'
           ELSE 'unknown_meter'
       END AS reason
FROM {{ workspace }}_bronze.readings r
LEFT JOIN {{ workspace }}_bronze.meters m ON m.meter_id = r.meter_id
WHERE TRY_CAST(r.read_at AS TIMESTAMP) IS NULL
   OR TRY_CAST(r.kwh AS DOUBLE) IS NULL
   OR TRY_CAST(r.kwh AS DOUBLE) < 0
   OR m.meter_id IS NULL
