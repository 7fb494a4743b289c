{{/* One Deployment of the Gaby image: dict root, component, values (the component's block), args, replicas,
     owner (gets the owner role's URL), singleton (never two at once: beat, the mail listener), metrics (its
     processes' Prometheus counters summed in an emptyDir), metricsPort (a worker's own metrics port). */}}
{{- define "gaby.deployment" -}}
{{- $root := .root -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "gaby.fullname" $root }}-{{ .component }}
  labels:
    {{- include "gaby.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  replicas: {{ .replicas }}
  {{- if .singleton }}
  strategy:
    type: Recreate
  {{- end }}
  selector:
    matchLabels:
      {{- include "gaby.selectorLabels" (dict "root" $root "component" .component) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "gaby.selectorLabels" (dict "root" $root "component" .component) | nindent 8 }}
      annotations:
        {{- include "gaby.checksum" $root | nindent 8 }}
        {{- if and $root.Values.metrics.annotations (or .web .metricsPort) }}
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ ternary "8000" (toString .metricsPort) (not .metricsPort) | quote }}
        prometheus.io/path: /metrics
        {{- end }}
        {{- with .values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      {{- include "gaby.podCommon" (dict "root" $root "values" .values) | nindent 6 }}
      containers:
        - name: {{ .component }}
          image: {{ include "gaby.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args:
            {{- toYaml .args | nindent 12 }}
          env:
            {{- include "gaby.env" $root | nindent 12 }}
            {{- if and .owner (include "gaby.hasOwnerUrl" $root) }}
            {{- include "gaby.ownerEnv" $root | nindent 12 }}
            {{- end }}
            {{- if .metrics }}
            - name: PROMETHEUS_MULTIPROC_DIR
              value: /run/gaby/metrics
            {{- end }}
            {{- if .metricsPort }}
            - name: GABY_WORKER_METRICS_PORT
              value: {{ .metricsPort | quote }}
            {{- end }}
          {{- with $root.Values.extraEnvFrom }}
          envFrom:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- if .web }}
          ports:
            - name: http
              containerPort: 8000
              protocol: TCP
          livenessProbe:
            {{- toYaml .values.livenessProbe | nindent 12 }}
          readinessProbe:
            {{- toYaml .values.readinessProbe | nindent 12 }}
          {{- end }}
          {{- if .metricsPort }}
          ports:
            - name: metrics
              containerPort: {{ .metricsPort }}
              protocol: TCP
          {{- end }}
          resources:
            {{- toYaml .values.resources | nindent 12 }}
          {{- with $root.Values.containerSecurityContext }}
          securityContext:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- if or .media .metrics }}
          volumeMounts:
            {{- if .media }}
            - name: media
              mountPath: /var/lib/gaby/media
            {{- end }}
            {{- if .metrics }}
            - name: metrics
              mountPath: /run/gaby/metrics
            {{- end }}
          {{- end }}
      {{- if or .media .metrics }}
      volumes:
        {{- if .media }}
        {{- include "gaby.mediaVolume" $root | nindent 8 }}
        {{- end }}
        {{- if .metrics }}
        # Fresh with the pod: counters files of an earlier pod are never summed in again.
        - name: metrics
          emptyDir: {}
        {{- end }}
      {{- end }}
{{- end -}}
