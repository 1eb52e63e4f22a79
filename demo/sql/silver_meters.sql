-- Silver: the meter register, typed.
CREATE OR REPLACE TABLE {{ workspace }}_silver.meters AS
SELECT meter_id, region, tariff, CAST(installed_on AS DATE) AS installed_on
FROM {{ workspace }}_bronze.meters
