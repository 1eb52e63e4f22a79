{{- define "sadeem.fullname" -}}
{{- printf "%s-sadeem" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sadeem.labels" -}}
app.kubernetes.io/name: sadeem
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "sadeem.selector" -}}
app.kubernetes.io/name: sadeem
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The engine's pods: the Deployment's selector (immutable, so unchanged) plus a component,
which the Service, PodDisruptionBudget and NetworkPolicy select on. */}}
{{- define "sadeem.engineSelector" -}}
{{ include "sadeem.selector" . }}
app.kubernetes.io/component: engine
{{- end -}}

{{/* The migrations hook's pods: a name of their own, so neither the Deployment's selector
nor any Service's matches them. */}}
{{- define "sadeem.migrationsLabels" -}}
app.kubernetes.io/name: sadeem-migrations
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: migrations
{{- end -}}

{{/* Every container: Pod Security "restricted" (no escalation, no capabilities, RuntimeDefault
seccomp, non-root) and a read-only root filesystem, the writable paths being emptyDirs.
Fixed here, not a value, so no values file can weaken it. */}}
{{- define "sadeem.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  runAsNonRoot: true
  capabilities: {drop: [ALL]}
  seccompProfile: {type: RuntimeDefault}
{{- end -}}

{{/* A pod securityContext: the value given (numeric user, groups) with non-root and
RuntimeDefault seccomp fixed on top. */}}
{{- define "sadeem.podSecurity" -}}
securityContext:
  {{- toYaml (merge (dict "runAsNonRoot" true "seccompProfile" (dict "type" "RuntimeDefault")) (deepCopy .)) | nindent 2 }}
{{- end -}}

{{- define "sadeem.image" -}}
{{- $registry := .global.imageRegistry -}}
{{- if $registry -}}{{ printf "%s/%s:%s" $registry .image.repository .image.tag }}{{- else -}}{{ printf "%s:%s" .image.repository .image.tag }}{{- end -}}
{{- end -}}

{{- define "sadeem.serviceAccountName" -}}
{{- default (include "sadeem.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "sadeem.dbSecret" -}}
{{- if .Values.database.bundled.enabled -}}
{{- default (printf "%s-db" (include "sadeem.fullname" .)) .Values.database.bundled.existingSecret -}}
{{- else -}}
{{- .Values.database.external.existingSecret -}}
{{- end -}}
{{- end -}}

{{/* What `sadeem db upgrade` needs: the database, nothing else (no key, no config file, so
the pre-install hook depends on no object the release has yet to create). */}}
{{- define "sadeem.dbEnv" -}}
- name: USER
  value: sadeem-engine
# The root filesystem is read-only: anything written under ~ goes to the /tmp emptyDir.
- name: HOME
  value: /tmp
- name: SADEEM_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "sadeem.dbSecret" . }}
      key: {{ ternary .Values.database.bundled.passwordKey .Values.database.external.passwordKey .Values.database.bundled.enabled }}
{{- if .Values.database.bundled.enabled }}
- name: SADEEM_DATABASE_URL
  value: {{ printf "postgresql+psycopg2://sadeem:$(SADEEM_DB_PASSWORD)@%s-db:5432/sadeem" (include "sadeem.fullname" .) | quote }}
{{- else }}
- name: SADEEM_DATABASE_URL
  value: {{ printf "postgresql+psycopg2://%s:$(SADEEM_DB_PASSWORD)@%s:%v/%s" .Values.database.external.user .Values.database.external.host .Values.database.external.port .Values.database.external.database | quote }}
{{- end }}
{{- end -}}

{{- define "sadeem.env" -}}
- name: XDG_CONFIG_HOME
  value: /etc/xdg
{{ include "sadeem.dbEnv" . }}
- name: SADEEM_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ default (printf "%s-key" (include "sadeem.fullname" .)) .Values.secretKey.existingSecret }}
      key: {{ .Values.secretKey.key }}
{{- end -}}
