#!/usr/bin/env bash
# The demo end to end on a k3d (or kind) cluster: install the data plane and the engine with
# Helm, then build bronze with Spark and silver/gold with Trino, all through `sadeem`.
# Needs: k3d or kind, kubectl, helm, the sadeem CLI, and the images in reach (mirror them
# first on an air-gapped site, see helm/README.md). Cannot run in the CI sandbox.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cluster="${CLUSTER:-sadeem-demo}"
ns=lakehouse

if ! kubectl config get-contexts "k3d-$cluster" >/dev/null 2>&1; then
  k3d cluster create "$cluster" --agents 1 --wait
fi

helm dependency build "$root/helm/dataplane"
helm upgrade --install lake "$root/helm/dataplane" -n "$ns" --create-namespace \
  -f "$root/helm/dataplane/values-dev.yaml" --wait --timeout 15m
helm upgrade --install sadeem "$root/helm/sadeem" -n "$ns" \
  --set "engine.jobNamespaces={lakehouse-jobs}" --wait --timeout 10m

# Reach the services from this machine.
kubectl -n "$ns" port-forward svc/lake-minio 9000:9000 >/dev/null &
kubectl -n "$ns" port-forward svc/lake-trino 8080:8080 >/dev/null &
kubectl -n "$ns" port-forward svc/lake-catalog 8181:8181 >/dev/null &
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
sleep 3

minio_user=$(kubectl -n "$ns" get secret lake-minio -o jsonpath='{.data.root-user}' | base64 -d)
kubectl -n "$ns" get secret lake-minio -o jsonpath='{.data.root-password}' | base64 -d \
  > "${TMPDIR:-/tmp}/minio-secret"
kubectl -n "$ns" get secret lake-catalog -o jsonpath='{.data.client-secret}' | base64 -d \
  | sed 's/^/root:/' > "${TMPDIR:-/tmp}/polaris-credential"

# Raw files and the ingest job into MinIO.
python3 - "$minio_user" "${TMPDIR:-/tmp}/minio-secret" "$root" <<'PY'
import sys, pathlib, boto3
user, secret_file, root = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:9000", aws_access_key_id=user,
                  aws_secret_access_key=pathlib.Path(secret_file).read_text().strip())
for f in ("meters.csv", "readings.csv"):
    s3.upload_file(str(root / "demo/data" / f), "raw", f"demo/{f}")
s3.upload_file(str(root / "demo/k8s/bronze_ingest.py"), "raw", "jobs/bronze_ingest.py")
PY

sadeem connection create minio --type s3 --set endpoint=http://127.0.0.1:9000 \
  --set access_key="$minio_user" --set bucket=lakehouse \
  --secret-stdin secret_key < "${TMPDIR:-/tmp}/minio-secret"
sadeem connection create polaris --type iceberg_rest --set uri=http://127.0.0.1:8181/api/catalog \
  --set warehouse=lakehouse --set s3_endpoint=http://127.0.0.1:9000 \
  --secret-stdin credential < "${TMPDIR:-/tmp}/polaris-credential"
sadeem connection create trino --type trino --set host=127.0.0.1 --set port=8080 --set catalog=iceberg
sadeem connection create spark --type spark_operator --set namespace=lakehouse-jobs
sadeem connection test

sadeem workspace create demo --storage-connection minio --catalog-connection polaris \
  --sql-connection trino
sadeem workspace provision demo --apply

sadeem job create -w demo bronze_ingest --type spark --connection spark \
  --app-file s3a://raw/jobs/bronze_ingest.py \
  --arg --workspace --arg demo --arg --raw --arg s3a://raw/demo --arg --ds --arg '{{ ds }}' \
  --executor-instances 2
for step in silver_meters silver_readings silver_rejected_readings; do
  sadeem job create -w demo "$step" --type sql --connection trino \
    --sql-file "$root/demo/sql/$step.sql" --upstream bronze_ingest
done
for step in gold_daily_consumption gold_top_meters; do
  sadeem job create -w demo "$step" --type sql --connection trino \
    --sql-file "$root/demo/sql/$step.sql" --upstream silver_readings --upstream silver_meters
done

sadeem job run -w demo bronze_ingest --wait
sadeem run list -w demo
sadeem sql -w demo -e "SELECT region, sum(total_kwh) AS kwh FROM demo_gold.daily_consumption GROUP BY region ORDER BY kwh DESC"
