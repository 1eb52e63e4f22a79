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

{{/* Pods of a hook Job: a name of their own, so no Service, Deployment or StatefulSet
selector (dp.selector) ever matches them and routes traffic to a hook. */}}
{{- define "dp.hookLabels" -}}
app.kubernetes.io/name: {{ printf "%s-%s" .component .hook }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: hook
{{- end -}}

{{/* The container securityContext every pod in this chart gets: Pod Security "restricted"
(no escalation, no capabilities, RuntimeDefault seccomp, non-root) plus a read-only root
filesystem; the writable paths are emptyDir mounts in each template. Not a value, so no
values file can weaken it. The argument adds fields (a container's own runAsUser). */}}
{{- define "dp.containerSecurity" -}}
{{- $fixed := dict "allowPrivilegeEscalation" false "readOnlyRootFilesystem" true "runAsNonRoot" true "capabilities" (dict "drop" (list "ALL")) "seccompProfile" (dict "type" "RuntimeDefault") -}}
securityContext:
  {{- toYaml (merge $fixed (deepCopy .)) | nindent 2 }}
{{- end -}}

{{/* The pod securityContext: the component's podSecurityContext value (the image's own
numeric user: a user name cannot be checked for non-root by the kubelet), with non-root and
RuntimeDefault seccomp fixed on top so a value cannot turn them off. */}}
{{- define "dp.podSecurity" -}}
securityContext:
  {{- toYaml (merge (dict "runAsNonRoot" true "seccompProfile" (dict "type" "RuntimeDefault")) (deepCopy .)) | nindent 2 }}
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
{{- define "dp.trinoS3Secret" -}}{{ default (printf "%s-minio-trino" .Release.Name) .Values.minio.users.trino.existingSecret }}{{- end -}}
{{- define "dp.catalogS3Secret" -}}{{ default (printf "%s-minio-catalog" .Release.Name) .Values.minio.users.catalog.existingSecret }}{{- end -}}
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
{{- end -}}

{{/* Polaris reaches the warehouse as its own MinIO user (created by the minio-setup hook),
never as MinIO's root. */}}
{{- define "dp.polarisS3Env" -}}
- name: AWS_REGION
  value: us-east-1
- name: AWS_ACCESS_KEY_ID
  valueFrom: {secretKeyRef: {name: {{ include "dp.catalogS3Secret" . }}, key: access-key}}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom: {secretKeyRef: {name: {{ include "dp.catalogS3Secret" . }}, key: secret-key}}
- name: AWS_ENDPOINT_URL_S3
  value: {{ printf "http://%s-minio:9000" .Release.Name | quote }}
{{- end -}}
