-- Bronze: the readings exactly as delivered, dirty rows included, plus lineage.
CREATE OR REPLACE TABLE {{ workspace }}_bronze.readings AS
SELECT *, 'readings.csv' AS _source_file, CAST('{{ ds }}' AS DATE) AS _ingested_for
FROM read_csv('{{ params.raw_dir }}/readings.csv', header = true, all_varchar = true)
