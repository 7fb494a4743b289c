{{/* Names: the release's prefix, cut to the 63 characters Kubernetes allows. */}}
{{- define "gaby.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "gaby.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Selector labels of one component: web, worker, beat, mail-listener, migrate. */}}
{{- define "gaby.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "gaby.image" -}}
{{- if not .Values.image.repository -}}
{{- fail "image.repository is empty: set it to where you pushed the image built from docker/Dockerfile" -}}
{{- end -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* The Secret holding the connection URLs: the chart's own when a URL is given in values, else the existing one. */}}
{{- define "gaby.databaseSecret" -}}
{{- if .Values.database.url -}}{{ include "gaby.fullname" . }}-connections{{- else -}}
{{- required "database.url is empty: give the application role's URL, or database.existingSecret naming a Secret that holds it" .Values.database.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "gaby.redisSecret" -}}
{{- if .Values.redis.url -}}{{ include "gaby.fullname" . }}-connections{{- else -}}
{{- required "redis.url is empty: give Redis's URL, or redis.existingSecret naming a Secret that holds it" .Values.redis.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "gaby.keysSecret" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-keys" (include "gaby.fullname" .)) -}}
{{- end -}}

{{/* Whether the owner role's URL is available (given in values, or possibly in the existing Secret). */}}
{{- define "gaby.hasOwnerUrl" -}}
{{- if .Values.database.url -}}{{- if .Values.database.ownerUrl -}}true{{- end -}}
{{- else if .Values.database.ownerUrlKey -}}true{{- end -}}
{{- end -}}

{{/* Environment every Gaby container gets (the application role only). */}}
{{- define "gaby.env" -}}
- name: GABY_ENV
  value: production
- name: GABY_DATA_DIR
  value: /var/lib/gaby
- name: GABY_BASE_DOMAIN
  value: {{ required "baseDomain is empty: set the MSP portal's domain, e.g. support.example.com" .Values.baseDomain | quote }}
- name: GABY_PORT
  value: {{ .Values.publicPort | quote }}
- name: GABY_HTTPS
  value: {{ .Values.https | quote }}
- name: GABY_BEHIND_PROXY
  value: {{ .Values.behindProxy | quote }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "gaby.databaseSecret" . }}
      key: {{ if .Values.database.url }}DATABASE_URL{{ else }}{{ .Values.database.urlKey }}{{ end }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "gaby.redisSecret" . }}
      key: {{ if .Values.redis.url }}REDIS_URL{{ else }}{{ .Values.redis.urlKey }}{{ end }}
- name: SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "gaby.keysSecret" . }}
      key: {{ .Values.secrets.secretKeyKey }}
- name: GABY_MASTER_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "gaby.keysSecret" . }}
      key: {{ .Values.secrets.masterKeyKey }}
- name: GABY_METRICS_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .Values.metrics.existingSecret | default (include "gaby.keysSecret" .) }}
      key: {{ .Values.metrics.tokenKey }}
      {{- if and .Values.secrets.existingSecret (not .Values.metrics.existingSecret) }}
      # Your keys Secret may not hold a token: without one /metrics answers 403 in production.
      optional: true
      {{- end }}
{{- with .Values.metrics.allow }}
- name: GABY_METRICS_ALLOW
  value: {{ . | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The owner role's URL, for the migration job and the web pods (onboarding a client creates its schema). */}}
{{- define "gaby.ownerEnv" -}}
{{- if include "gaby.hasOwnerUrl" . -}}
- name: GABY_DB_OWNER_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "gaby.databaseSecret" . }}
      key: {{ if .Values.database.url }}GABY_DB_OWNER_URL{{ else }}{{ .Values.database.ownerUrlKey }}{{ end }}
      {{- if not .Values.database.url }}
      optional: true
      {{- end }}
{{- end }}
{{- end -}}

{{/* Pod annotations that roll the pods when the connection URLs given in values change. */}}
{{- define "gaby.checksum" -}}
checksum/connections: {{ printf "%s|%s|%s" .Values.database.url .Values.database.ownerUrl .Values.redis.url | sha256sum | trunc 16 }}
{{- end -}}

{{- define "gaby.podCommon" -}}
automountServiceAccountToken: false
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
{{ toYaml . }}
{{- end }}
{{- with .root.Values.podSecurityContext }}
securityContext:
{{ toYaml . | indent 2 }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
{{ toYaml . | indent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
{{ toYaml . }}
{{- end }}
{{- with .values.affinity }}
affinity:
{{ toYaml . | indent 2 }}
{{- end }}
{{- end -}}

{{- define "gaby.mediaVolume" -}}
- name: media
{{- if .Values.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ .Values.persistence.existingClaim | default (printf "%s-media" (include "gaby.fullname" .)) }}
{{- else }}
  emptyDir: {}
{{- end }}
{{- end -}}
