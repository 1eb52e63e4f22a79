-- Bronze: the meter register exactly as delivered (every column text), plus lineage.
-- Embedded path (DuckDB reads the raw file); on Kubernetes the PySpark job in demo/k8s does this.
CREATE OR REPLACE TABLE {{ workspace }}_bronze.meters AS
SELECT *, 'meters.csv' AS _source_file, CAST('{{ ds }}' AS DATE) AS _ingested_for
FROM read_csv('{{ params.raw_dir }}/meters.csv', header = true, all_varchar = true)
