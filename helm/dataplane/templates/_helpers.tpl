{{- define "dp.name" -}}
{{- printf "%s-%s" .root.Release.Name .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "dp.labels" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/part-of: sadeem-dataplane
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "dp.selector" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "dp.image" -}}
{{- $registry := .root.Values.global.imageRegistry -}}
{{- if $registry -}}{{ printf "%s/%s:%s" $registry .image.repository .image.tag }}{{- else -}}{{ printf "%s:%s" .image.repository .image.tag }}{{- end -}}
{{- end -}}

{{- define "dp.pullSecrets" -}}
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* A generated credential that survives upgrades: reuse the live Secret's value. */}}
{{- define "dp.secretValue" -}}
{{- $live := lookup "v1" "Secret" .root.Release.Namespace .name -}}
{{- if and $live (index $live.data .key) -}}{{ index $live.data .key }}{{- else -}}{{ randAlphaNum 32 | b64enc }}{{- end -}}
{{- end -}}

{{- define "dp.minioSecret" -}}{{ default (printf "%s-minio" .Release.Name) .Values.minio.existingSecret }}{{- end -}}
{{- define "dp.catalogSecret" -}}{{ default (printf "%s-catalog" .Release.Name) .Values.catalog.existingSecret }}{{- end -}}
{{- define "dp.catalogDbSecret" -}}{{ default (printf "%s-catalog-db" .Release.Name) .Values.catalog.postgres.existingSecret }}{{- end -}}

{{- define "dp.polarisEnv" -}}
- name: POLARIS_PERSISTENCE_TYPE
  value: relational-jdbc
- name: QUARKUS_DATASOURCE_JDBC_URL
  value: {{ printf "jdbc:postgresql://%s-catalog-db:5432/polaris" .Release.Name | quote }}
- name: QUARKUS_DATASOURCE_USERNAME
  value: polaris
- name: QUARKUS_DATASOURCE_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ include "dp.catalogDbSecret" . }}, key: {{ .Values.catalog.postgres.passwordKey }}}}
- name: POLARIS_REALM_CONTEXT_REALMS
  value: {{ .Values.catalog.realm | quote }}
- name: CLIENT_ID
  valueFrom: {secretKeyRef: {name: {{ include "dp.catalogSecret" . }}, key: client-id}}
- name: CLIENT_SECRET
  valueFrom: {secretKeyRef: {name: {{ include "dp.catalogSecret" . }}, key: client-secret}}
- name: AWS_REGION
  value: us-east-1
- name: AWS_ACCESS_KEY_ID
  valueFrom: {secretKeyRef: {name: {{ include "dp.minioSecret" . }}, key: root-user}}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom: {secretKeyRef: {name: {{ include "dp.minioSecret" . }}, key: root-password}}
- name: AWS_ENDPOINT_URL_S3
  value: {{ printf "http://%s-minio:9000" .Release.Name | quote }}
{{- end -}}
