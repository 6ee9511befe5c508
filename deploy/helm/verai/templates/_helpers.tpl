{{/*
Shared pieces of the VerAI chart. Object names are <prefix>-<component>[-<name>]; the prefix is
the release name (or fullnameOverride) and is never truncated silently: a name too long for
Kubernetes fails the render with a message instead.
*/}}

{{- define "verai.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride -}}
{{- end -}}

{{/* A name that must fit a StatefulSet/DaemonSet (its pods' controller-revision-hash label
     is <name>-<10 characters>, at most 63). Args: (list root name) */}}
{{- define "verai.workloadName" -}}
{{- $name := index . 1 -}}
{{- if gt (len $name) 52 -}}
{{- fail (printf "object name %q is %d characters; at most 52 fit a workload's labels: use a shorter release name, fullnameOverride or member/class name" $name (len $name)) -}}
{{- end -}}
{{- $name -}}
{{- end -}}

{{- define "verai.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
app.kubernetes.io/name: verai
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: verai-network
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "verai.selectorLabels" -}}
app.kubernetes.io/name: verai
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* image of a component: (dict "root" $ "component" "oracle") */}}
{{- define "verai.image" -}}
{{- $image := .root.Values.image -}}
{{- $tag := $image.tag | default .root.Chart.AppVersion -}}
{{- if $image.registry -}}
{{- printf "%s/verai-%s:%s" (trimSuffix "/" $image.registry) .component $tag -}}
{{- else -}}
{{- printf "verai-%s:%s" .component $tag -}}
{{- end -}}
{{- end -}}

{{/* One setting value as the text of an environment variable: maps and lists as JSON (how
     pydantic-settings reads complex settings), whole numbers without an exponent (YAML numbers
     reach templates as float64: 10000000 would otherwise print as 1e+07). */}}
{{- define "verai.envValue" -}}
{{- if or (kindIs "map" .) (kindIs "slice" .) -}}
{{- toJson . -}}
{{- else if kindIs "float64" . -}}
{{- if eq (float64 (int64 .)) . -}}{{- int64 . -}}{{- else -}}{{- . -}}{{- end -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/* VERAI_<NAME> for every entry of a settings map (keys in sorted order; null skips). */}}
{{- define "verai.settingsEnv" -}}
{{- range $key, $value := . }}
{{- if not (kindIs "invalid" $value) }}
- name: {{ printf "VERAI_%s" (upper $key) }}
  value: {{ include "verai.envValue" $value | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The deployment record's ConfigMap name and key. */}}
{{- define "verai.deploymentConfigMap" -}}
{{- if .Values.chain.deploymentConfigMap.name -}}
{{- .Values.chain.deploymentConfigMap.name -}}
{{- else -}}
{{- printf "%s-deployment" (include "verai.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "verai.deploymentKey" -}}
{{- if .Values.chain.deploymentConfigMap.name -}}
{{- .Values.chain.deploymentConfigMap.key -}}
{{- else -}}
deployment.json
{{- end -}}
{{- end -}}

{{- define "verai.checkChain" -}}
{{- if and (not .Values.chain.deploymentRecord) (not .Values.chain.deploymentConfigMap.name) -}}
{{- fail "chain.deploymentRecord (--set-file chain.deploymentRecord=deployments/<chain-id>.json) or chain.deploymentConfigMap.name is required: the processes find the contracts through it" -}}
{{- end -}}
{{- if and (not .Values.chain.rpcUrl) (not .Values.chain.rpcUrlSecret.name) -}}
{{- fail "chain.rpcUrl (or chain.rpcUrlSecret.name) is required: the JSON-RPC endpoint of a BASE node" -}}
{{- end -}}
{{- end -}}

{{/* What every process needs to reach the chain. */}}
{{- define "verai.chainEnv" -}}
{{- include "verai.checkChain" . }}
- name: VERAI_RPC_URL
{{- if .Values.chain.rpcUrlSecret.name }}
  valueFrom:
    secretKeyRef:
      name: {{ .Values.chain.rpcUrlSecret.name }}
      key: {{ .Values.chain.rpcUrlSecret.key }}
{{- else }}
  value: {{ .Values.chain.rpcUrl | quote }}
{{- end }}
- name: VERAI_DEPLOYMENT
  value: {{ printf "/etc/verai/deployment/%s" (include "verai.deploymentKey" .) | quote }}
- name: VERAI_LOG_FORMAT
  value: "json"
- name: VERAI_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- end -}}

{{/* Pod-level fields every VerAI pod shares. */}}
{{- define "verai.podCommon" -}}
serviceAccountName: {{ include "verai.fullname" . }}
automountServiceAccountToken: false
# No <SERVICE>_PORT variables: a Service named e.g. "verai-metrics" would otherwise inject
# VERAI_METRICS_PORT=tcp://... and override a real setting.
enableServiceLinks: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Volumes every VerAI pod shares: the deployment record and a scratch /tmp. */}}
{{- define "verai.commonVolumes" -}}
- name: deployment
  configMap:
    name: {{ include "verai.deploymentConfigMap" . }}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end -}}

{{- define "verai.commonMounts" -}}
- name: deployment
  mountPath: /etc/verai/deployment
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* Probes on /healthz: (dict "port" "metrics" "startup" .Values.x.startupProbe) */}}
{{- define "verai.probes" -}}
startupProbe:
  httpGet:
    path: /healthz
    port: {{ .port }}
  periodSeconds: {{ .startup.periodSeconds | int }}
  failureThreshold: {{ .startup.failureThreshold | int }}
  timeoutSeconds: 5
livenessProbe:
  httpGet:
    path: /healthz
    port: {{ .port }}
  periodSeconds: 20
  failureThreshold: 3
  timeoutSeconds: 5
readinessProbe:
  httpGet:
    path: /healthz
    port: {{ .port }}
  periodSeconds: 10
  failureThreshold: 2
  timeoutSeconds: 5
{{- end -}}

{{- define "verai.anyEnabled" -}}
{{- if or .Values.oracle.enabled .Values.observer.enabled .Values.dashboard.enabled .Values.agents.gpu .Values.agents.cpu -}}true{{- end -}}
{{- end -}}

{{/* The committee's invariants, checked before anything renders. */}}
{{- define "verai.checkCommittee" -}}
{{- $oracle := .Values.oracle -}}
{{- if not $oracle.members -}}
{{- fail "oracle.enabled needs at least one entry in oracle.members" -}}
{{- end -}}
{{- $names := dict -}}
{{- $secrets := dict -}}
{{- range $member := $oracle.members -}}
{{- if hasKey $names $member.name -}}
{{- fail (printf "oracle.members: the name %q appears twice" $member.name) -}}
{{- end -}}
{{- $_ := set $names $member.name true -}}
{{- if hasKey $secrets $member.keySecret -}}
{{- fail (printf "oracle.members %q and %q share the keySecret %q: one key must never sign from two pods" (get $secrets $member.keySecret) $member.name $member.keySecret) -}}
{{- end -}}
{{- $_ := set $secrets $member.keySecret $member.name -}}
{{- end -}}
{{- if not $oracle.vrfKeySecret.name -}}
{{- fail "oracle.vrfKeySecret.name is required: every signing member needs the committee's VRF key to prove reassignments" -}}
{{- end -}}
{{- $size := add (len $oracle.members) (len $oracle.externalPeers) -}}
{{- if gt ($oracle.threshold | int) ($size | int) -}}
{{- fail (printf "oracle.threshold %d is above the committee size %d (oracle.members + oracle.externalPeers)" ($oracle.threshold | int) ($size | int)) -}}
{{- end -}}
{{- end -}}

{{/* How many members may be evicted at once without breaking the quorum. */}}
{{- define "verai.committeeSlack" -}}
{{- $oracle := .Values.oracle -}}
{{- sub (add (len $oracle.members) (len $oracle.externalPeers)) ($oracle.threshold | int) -}}
{{- end -}}

{{/* The deployment record as an object, when its text is given ({} otherwise). */}}
{{- define "verai.record" -}}
{{- if .Values.chain.deploymentRecord -}}
{{- .Values.chain.deploymentRecord -}}
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{/* Checks against the record, when it is known: the agents' classes are classes of the
     deployment (the oracle labels its pending-units metric with these names, and the HPA
     selects by them), and oracle.threshold is the committee's on-chain threshold. */}}
{{- define "verai.checkRecord" -}}
{{- $record := include "verai.record" . | mustFromJson -}}
{{- $parameters := $record.parameters | default dict -}}
{{- $classes := $parameters.classes | default dict -}}
{{- if $classes -}}
{{- range $agent := concat .Values.agents.gpu .Values.agents.cpu -}}
{{- if not (hasKey $classes $agent.resourceClass) -}}
{{- fail (printf "agents %q: resourceClass %q is not a class of the deployment record (its classes: %s)" $agent.name $agent.resourceClass (join ", " (keys $classes | sortAlpha))) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $committee := $parameters.committee | default dict -}}
{{- if and .Values.oracle.enabled (hasKey $committee "threshold") -}}
{{- if ne ($committee.threshold | int) (.Values.oracle.threshold | int) -}}
{{- fail (printf "oracle.threshold is %d but the deployment record's committee threshold is %d" (.Values.oracle.threshold | int) ($committee.threshold | int)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
