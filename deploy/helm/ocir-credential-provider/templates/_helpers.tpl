{{/* The installer image reference. */}}
{{- define "ocir.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Whether the chart renders the provider config ConfigMap. */}}
{{- define "ocir.createConfig" -}}
{{- if or .Values.providerConfig.create .Values.providerConfig.raw .Values.serviceAccountMode.enabled }}true{{ end -}}
{{- end -}}

{{/* One provider entry; the dict holds name, root (the chart's context) and token (bool). */}}
{{- define "ocir.provider" -}}
{{- $pc := .root.Values.providerConfig -}}
{{- $sa := .root.Values.serviceAccountMode -}}
- name: {{ .name | quote }}
  matchImages:
  {{- range $pc.matchImages }}
    - {{ . | quote }}
  {{- end }}
  defaultCacheDuration: {{ $pc.defaultCacheDuration | quote }}
  apiVersion: "credentialprovider.kubelet.k8s.io/v1"
  {{- if $pc.args }}
  args:
  {{- range $pc.args }}
    - {{ . | quote }}
  {{- end }}
  {{- end }}
  {{- if $pc.env }}
  env:
  {{- range $k, $v := $pc.env }}
    - name: {{ $k | quote }}
      value: {{ $v | toString | quote }}
  {{- end }}
  {{- end }}
  {{- if .token }}
  tokenAttributes:
    serviceAccountTokenAudience: {{ $sa.audience | quote }}
    cacheType: "ServiceAccount"
    requireServiceAccount: true
    {{- if $sa.requiredAnnotations }}
    requiredServiceAccountAnnotationKeys:
    {{- range $sa.requiredAnnotations }}
      - {{ . | quote }}
    {{- end }}
    {{- end }}
  {{- end }}
{{- end -}}

{{/* The CredentialProviderConfig file. */}}
{{- define "ocir.providerConfig" -}}
{{- if .Values.providerConfig.raw -}}
{{ .Values.providerConfig.raw }}
{{- else -}}
# CredentialProviderConfig for OCIR, rendered by the ocir-credential-provider chart.
apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
{{- if .Values.serviceAccountMode.enabled }}
{{ include "ocir.provider" (dict "name" .Values.serviceAccountMode.providerName "root" . "token" true) | indent 2 }}
{{- end }}
{{ include "ocir.provider" (dict "name" "ocir-credential-provider" "root" . "token" false) | indent 2 }}
{{- end }}
{{- end -}}
