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

{{- define "sadeem.env" -}}
- name: XDG_CONFIG_HOME
  value: /etc/xdg
- name: USER
  value: sadeem-engine
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
- name: SADEEM_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ default (printf "%s-key" (include "sadeem.fullname" .)) .Values.secretKey.existingSecret }}
      key: {{ .Values.secretKey.key }}
{{- end -}}
