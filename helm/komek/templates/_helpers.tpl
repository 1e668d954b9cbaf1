{{/* Names, labels and the per-service view of values shared by every template. */}}

{{- define "komek.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "komek.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A service's object name: <fullname>-<service>. Argument: dict root, name. */}}
{{- define "komek.svcName" -}}
{{- printf "%s-%s" (include "komek.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "komek.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "komek.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: komek
{{- end -}}

{{/* Selector labels of one service. Argument: dict root, name. */}}
{{- define "komek.selectorLabels" -}}
app.kubernetes.io/name: {{ include "komek.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* All labels of one service's objects. Argument: dict root, name. */}}
{{- define "komek.svcLabels" -}}
{{ include "komek.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* The service's values over `defaults`, as YAML (fromYaml it). Argument: dict root, name. */}}
{{- define "komek.svcValues" -}}
{{- $svc := index .root.Values.services .name -}}
{{- toYaml (mergeOverwrite (deepCopy .root.Values.defaults) (deepCopy $svc)) -}}
{{- end -}}

{{- define "komek.image" -}}
{{- $svc := index .root.Values.services .name -}}
{{- $tag := $svc.imageTag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s%s:%s" .root.Values.image.repositoryPrefix .name $tag -}}
{{- end -}}

{{/*
The secrets Komek reads: values key -> settings variable (KOMEK__SECTION__KEY; the chart sets its
_FILE form) and the file name under /etc/komek/secrets.
*/}}
{{- define "komek.secretSettings" -}}
jwtSecret: {env: KOMEK__AUTH__JWT_SECRET, file: auth-jwt-secret}
jwtPrevious: {env: KOMEK__AUTH__JWT_PREVIOUS, file: auth-jwt-previous}
smsInboundSecret: {env: KOMEK__SMS__INBOUND_SECRET, file: sms-inbound-secret}
smsPassword: {env: KOMEK__SMS__PASSWORD, file: sms-password}
surveyLinkSecret: {env: KOMEK__SURVEY__LINK_SECRET, file: survey-link-secret}
emailPassword: {env: KOMEK__EMAIL__PASSWORD, file: email-password}
amqpUrl: {env: KOMEK__AMQP__URL, file: amqp-url}
redisUrl: {env: KOMEK__REDIS__URL, file: redis-url}
{{- end -}}

{{/* True (non-empty) when at least one secret has an existingSecret. */}}
{{- define "komek.anySecret" -}}
{{- range $k, $s := .Values.secrets -}}{{- if $s.existingSecret -}}yes{{- end -}}{{- end -}}
{{- end -}}

{{/* The settings layer as TOML: values `config` with [services] ports from the services map. */}}
{{- define "komek.configToml" -}}
{{- $ports := dict -}}
{{- range $name, $svc := .Values.services -}}{{- $_ := set $ports $name (int $svc.port) -}}{{- end -}}
{{- $cfg := mergeOverwrite (deepCopy .Values.config) (dict "services" $ports) -}}
{{- include "komek.tomlTable" (dict "path" "" "map" $cfg) -}}
{{- end -}}

{{/*
A small TOML writer: Helm's toToml writes every YAML number as a float (8081.0), which Komek's
integer settings refuse. Whole numbers are written as integers (a float setting reads them too).
*/}}
{{- define "komek.tomlValue" -}}
{{- if kindIs "string" . -}}{{ toJson . }}
{{- else if kindIs "bool" . -}}{{ . }}
{{- else if kindIs "slice" . -}}[{{ range $i, $v := . }}{{ if $i }}, {{ end }}{{ include "komek.tomlValue" $v }}{{ end }}]
{{- else if kindIs "invalid" . -}}{{ fail "config: a TOML setting cannot be null" }}
{{- else if eq (float64 .) (floor .) -}}{{ int64 . }}
{{- else -}}{{ . }}
{{- end -}}
{{- end -}}

{{- define "komek.isTableArray" -}}
{{- if and (kindIs "slice" .) . -}}{{- if kindIs "map" (first .) -}}yes{{- end -}}{{- end -}}
{{- end -}}

{{/* Argument: dict path (dotted table name, "" at the top), map. */}}
{{- define "komek.tomlTable" -}}
{{- $path := .path -}}
{{- range $k, $v := .map -}}
{{- if and (not (kindIs "map" $v)) (not (include "komek.isTableArray" $v)) }}
{{ $k }} = {{ include "komek.tomlValue" $v }}
{{- end -}}
{{- end -}}
{{- range $k, $v := .map -}}
{{- $sub := ternary $k (printf "%s.%s" $path $k) (eq $path "") -}}
{{- if kindIs "map" $v }}

[{{ $sub }}]
{{- include "komek.tomlTable" (dict "path" $sub "map" $v) -}}
{{- else if include "komek.isTableArray" $v -}}
{{- range $item := $v }}

[[{{ $sub }}]]
{{- include "komek.tomlTable" (dict "path" $sub "map" $item) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The container's environment: env, settings file, key id, secrets as _FILE. Argument: dict root, name. */}}
{{- define "komek.env" -}}
{{- $ := .root -}}
{{- $name := .name -}}
{{- $svc := index $.Values.services $name -}}
{{- $v := include "komek.svcValues" . | fromYaml -}}
{{- $secretSettings := include "komek.secretSettings" $ | fromYaml }}
- name: KOMEK_ENV
  value: {{ $.Values.komekEnv | quote }}
- name: KOMEK_CONFIG_FILE
  value: /etc/komek/chart/komek.toml
- name: KOMEK__AUTH__JWT_KEY_ID
  value: {{ $.Values.jwtKeyId | quote }}
{{- if and (eq $name "intake") $svc.smtp.enabled }}
- name: KOMEK__EMAIL__SMTP_PORT
  value: {{ $svc.smtp.port | int | quote }}
{{- end }}
{{- range $key, $s := $.Values.secrets }}
{{- if $s.existingSecret }}
{{- $setting := index $secretSettings $key }}
- name: {{ $setting.env }}_FILE
  value: /etc/komek/secrets/{{ $setting.file }}
{{- end }}
{{- end }}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Argument: root. */}}
{{- define "komek.volumeMounts" -}}
{{- $ := . }}
- name: config
  mountPath: /etc/komek/chart
  readOnly: true
{{- if include "komek.anySecret" $ }}
- name: secrets
  mountPath: /etc/komek/secrets
  readOnly: true
{{- end }}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* Argument: dict root, name. */}}
{{- define "komek.volumes" -}}
{{- $ := .root -}}
{{- $v := include "komek.svcValues" . | fromYaml -}}
{{- $secretSettings := include "komek.secretSettings" $ | fromYaml }}
- name: config
  configMap:
    name: {{ include "komek.fullname" $ }}-config
{{- if include "komek.anySecret" $ }}
- name: secrets
  projected:
    defaultMode: 0440
    sources:
      {{- range $key, $s := $.Values.secrets }}
      {{- if $s.existingSecret }}
      - secret:
          name: {{ $s.existingSecret }}
          items:
            - key: {{ $s.key }}
              path: {{ (index $secretSettings $key).file }}
      {{- end }}
      {{- end }}
{{- end }}
- name: tmp
  emptyDir:
    sizeLimit: {{ $v.tmpSizeLimit }}
{{- end -}}

{{/* NetworkPolicy egress: DNS, then each networkPolicy.egress destination. Argument: root. */}}
{{- define "komek.egress" -}}
{{- $ := . }}
# DNS.
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
  ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- range $dest, $e := $.Values.networkPolicy.egress }}
{{- if $e.ports }}
# {{ $dest }}
- ports:
    {{- range $e.ports }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
  {{- with $e.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}
{{- end -}}
