{{/* Names, labels and the pieces shared by the Deployments. */}}

{{- define "cit.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "cit.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "cit.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "cit.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cit.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "cit.labels" -}}
helm.sh/chart: {{ include "cit.chart" . }}
{{ include "cit.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: projectsveltos
{{- end }}

{{- define "cit.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cit.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The ServiceAccount of one component (call with dict "root" $ "component" "run|worker|watcher"). In split
mode the worker and the watcher get their own, so each holds only its own permissions; a ServiceAccount
you bring (serviceAccount.create=false) is shared by both.
*/}}
{{- define "cit.componentServiceAccountName" -}}
{{- $base := include "cit.serviceAccountName" .root }}
{{- if and .root.Values.serviceAccount.create (ne .component "run") }}
{{- printf "%s-%s" $base .component | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $base }}
{{- end }}
{{- end }}

{{- define "cit.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The components to deploy, as a list of {name, command, replicas, resources}:
mode run → one "run" component named like the release; mode split → "worker" and "watcher".
*/}}
{{- define "cit.components" -}}
{{- $components := list }}
{{- if eq .Values.mode "run" }}
{{- $components = append $components (dict "component" "run" "name" (include "cit.fullname" .) "values" .Values.run) }}
{{- else if eq .Values.mode "split" }}
{{- range $c := list "worker" "watcher" }}
{{- $components = append $components (dict "component" $c "name" (printf "%s-%s" (include "cit.fullname" $) $c | trunc 63 | trimSuffix "-") "values" (get $.Values $c)) }}
{{- end }}
{{- else }}
{{- fail (printf "mode must be run or split, not %q" .Values.mode) }}
{{- end }}
{{- toJson $components }}
{{- end }}

{{/* The leader-election Lease's name: the CLI's default (watcher/lease-defaults.ts) unless set. */}}
{{- define "cit.leaseName" -}}
{{- $name := printf "%s-watcher" .Values.taskQueue }}
{{- if .Values.leaderElection.id }}
{{- .Values.leaderElection.id }}
{{- else if and (le (len $name) 253) (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$" $name) }}
{{- $name }}
{{- else }}
{{- printf "clusterinventory-watcher-%s" (sha256sum .Values.taskQueue | trunc 16) }}
{{- end }}
{{- end }}

{{/* Whether a provider file is configured. */}}
{{- define "cit.hasProviders" -}}
{{- if .Values.providers }}true{{ end }}
{{- end }}

{{- define "cit.providersPath" -}}/etc/clusterinventory/providers.json{{- end }}
{{- define "cit.temporalTlsDir" -}}/etc/temporal/tls{{- end }}
{{- define "cit.temporalConfigDir" -}}/etc/temporal/config{{- end }}

{{/* Command-line arguments after the subcommand; the same for every component. */}}
{{- define "cit.args" -}}
{{- if include "cit.hasProviders" . }}
- --clusterprofile-provider-file={{ include "cit.providersPath" . }}
{{- end }}
- --sync-period={{ .Values.syncPeriod }}
- --min-refresh-interval={{ .Values.minRefreshInterval }}
- --kube-api-qps={{ .Values.kubeApiQps }}
- --kube-api-burst={{ .Values.kubeApiBurst }}
- --health-addr=:{{ .Values.health.port }}
{{- if .Values.metrics.enabled }}
- --metrics-addr=:{{ .Values.metrics.port }}
{{- else }}
- --metrics-addr=0
{{- end }}
- --task-queue={{ .Values.taskQueue }}
{{- with .Values.watchNamespaces }}
- --namespaces={{ join "," . }}
{{- end }}
{{- with .Values.secretReaderNamespaces }}
- --secret-reader-namespaces={{ join "," . }}
{{- end }}
- --exec-timeout={{ .Values.execTimeout }}
- --relist-period={{ .Values.relistPeriod }}
- --change-sync-interval={{ .Values.changeSyncInterval }}
- --change-sync-burst={{ .Values.changeSyncBurst }}
- --leader-elect={{ .Values.leaderElection.enabled }}
- --leader-elect-lease-duration={{ .Values.leaderElection.leaseDuration }}
- --leader-elect-renew-deadline={{ .Values.leaderElection.renewDeadline }}
- --leader-elect-retry-period={{ .Values.leaderElection.retryPeriod }}
{{- with .Values.leaderElection.namespace }}
- --leader-elect-namespace={{ . }}
{{- end }}
{{- with .Values.leaderElection.id }}
- --leader-elect-id={{ . }}
{{- end }}
- --log-level={{ .Values.logLevel }}
{{- with .Values.logFormat }}
- --log-format={{ . }}
{{- end }}
- --max-cached-workflows={{ .Values.maxCachedWorkflows }}
- --workflow-stack-traces={{ .Values.workflowStackTraces }}
{{- range .Values.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}

{{/* Environment: HOME on the writable /tmp, then the Temporal connection, then extraEnv. */}}
{{- define "cit.env" -}}
- name: HOME
  value: /tmp
- name: TEMPORAL_ADDRESS
  value: {{ .Values.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ .Values.temporal.namespace | quote }}
{{- $tls := .Values.temporal.tls }}
{{- if $tls.enabled }}
- name: TEMPORAL_TLS
  value: "true"
{{- end }}
{{- if $tls.secretName }}
{{- if $tls.clientCertKey }}
- name: TEMPORAL_TLS_CLIENT_CERT_PATH
  value: {{ printf "%s/%s" (include "cit.temporalTlsDir" .) $tls.clientCertKey | quote }}
{{- end }}
{{- if $tls.clientKeyKey }}
- name: TEMPORAL_TLS_CLIENT_KEY_PATH
  value: {{ printf "%s/%s" (include "cit.temporalTlsDir" .) $tls.clientKeyKey | quote }}
{{- end }}
{{- if $tls.serverCaCertKey }}
- name: TEMPORAL_TLS_SERVER_CA_CERT_PATH
  value: {{ printf "%s/%s" (include "cit.temporalTlsDir" .) $tls.serverCaCertKey | quote }}
{{- end }}
{{- end }}
{{- with $tls.serverName }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ . | quote }}
{{- end }}
{{- with .Values.temporal.apiKey.secretName }}
- name: TEMPORAL_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.temporal.apiKey.secretKey }}
{{- end }}
{{- with .Values.temporal.configFile.secretName }}
- name: TEMPORAL_CONFIG_FILE
  value: {{ printf "%s/%s" (include "cit.temporalConfigDir" $) $.Values.temporal.configFile.secretKey | quote }}
{{- end }}
{{- with .Values.temporal.profile }}
- name: TEMPORAL_PROFILE
  value: {{ . | quote }}
{{- end }}
{{- with .Values.fingerprintKey.secretName }}
- name: CLUSTERINVENTORY_FINGERPRINT_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.fingerprintKey.secretKey }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
