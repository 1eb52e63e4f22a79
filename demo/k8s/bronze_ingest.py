"""The demo's bronze ingest on Kubernetes: read the raw CSV files from MinIO and write them,
as delivered (every column text, plus lineage), to `<ws>_bronze.meters` and
`<ws>_bronze.readings` through the Iceberg REST catalog.

Submitted by Sadeem as a SparkApplication; the catalog and S3 settings come from the job's
Spark conf, the credentials from the environment of the driver and executors.

    bronze_ingest.py --workspace demo --raw s3a://raw/demo --ds 2026-11-24
"""

from __future__ import annotations

import argparse

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--raw", required=True, help="where meters.csv and readings.csv are")
    parser.add_argument("--ds", required=True, help="the logical date of this load")
    parser.add_argument("--catalog", default="lake")
    args = parser.parse_args()

    spark = SparkSession.builder.appName(f"{args.workspace}-bronze-ingest").getOrCreate()
    for name in ("meters", "readings"):
        frame = (
            spark.read.option("header", "true")
            .option("inferSchema", "false")
            .csv(f"{args.raw.rstrip('/')}/{name}.csv")
            .withColumn("_source_file", F.lit(f"{name}.csv"))
            .withColumn("_ingested_for", F.to_date(F.lit(args.ds)))
        )
        target = f"{args.catalog}.{args.workspace}_bronze.{name}"
        frame.writeTo(target).createOrReplace()
        print(f"wrote {frame.count()} rows to {target}")
    spark.stop()


if __name__ == "__main__":
    main()
