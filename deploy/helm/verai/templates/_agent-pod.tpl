{{- /*
The pod template of a contributor node agent, shared by the GPU DaemonSets and the CPU
StatefulSets: (dict "root" $ "agent" <class entry> "kind" "gpu"|"cpu" "name" <object name>).

Every pod is one on-chain node, so every pod needs its own key: the class's Secret holds one
keystore per identity, and the pod picks its own through the downward API - the Kubernetes
node's name for a DaemonSet (one agent per GPU node), the pod's name for a StatefulSet
(<name>-<ordinal>, stable across restarts). A pod whose keystore is missing stops at start-up
with "setting keystore (VERAI_KEYSTORE) ...: no such file" and never joins the network.
*/ -}}
{{- define "verai.agentPod" -}}
{{- $root := .root -}}
{{- $agent := .agent -}}
{{- $agents := $root.Values.agents -}}
{{- $identity := ternary "NODE_NAME" "POD_NAME" (eq .kind "gpu") -}}
{{- $settings := merge (deepCopy ($agent.settings | default dict)) (deepCopy $agents.settings) -}}
{{- $powercap := and (eq .kind "gpu") (ne $agent.powercap false) -}}
metadata:
  labels:
    {{- include "verai.labels" (dict "root" $root "component" "agent") | nindent 4 }}
    verai.network/agent: {{ $agent.name }}
    verai.network/class: {{ $agent.resourceClass | quote }}
  annotations:
    checksum/deployment-record: {{ $root.Values.chain.deploymentRecord | sha256sum }}
spec:
  {{- include "verai.podCommon" $root | nindent 2 }}
  terminationGracePeriodSeconds: {{ $agents.terminationGracePeriodSeconds | int }}
  {{- with $agent.runtimeClassName }}
  runtimeClassName: {{ . }}
  {{- end }}
  containers:
    - name: agent
      image: {{ include "verai.image" (dict "root" $root "component" "agent") | quote }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      args: ["node", "run"]
      env:
        - name: NODE_NAME
          valueFrom:
            fieldRef:
              fieldPath: spec.nodeName
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        {{- include "verai.chainEnv" $root | nindent 8 }}
        - name: VERAI_KEYSTORE
          value: {{ printf "/run/secrets/verai/key/$(%s).json" $identity | quote }}
        - name: VERAI_PASSWORD_FILE
          value: {{ printf "/run/secrets/verai/key/%s" $agents.passwordKey | quote }}
        - name: VERAI_RESOURCE_CLASS
          value: {{ $agent.resourceClass | quote }}
        - name: VERAI_CAPACITY
          value: {{ $agent.capacity | int | quote }}
        - name: VERAI_PRICE
          value: {{ $agent.price | quote }}
        - name: VERAI_STAKE
          value: {{ $agent.stake | quote }}
        - name: VERAI_WORK_DIR
          value: "/var/lib/verai/node"
        - name: VERAI_METRICS_HOST
          value: "0.0.0.0"
        - name: VERAI_METRICS_PORT
          value: {{ $agents.ports.metrics | int | quote }}
        {{- if $powercap }}
        - name: VERAI_RAPL_ROOT
          value: "/host/sys/class/powercap"
        {{- end }}
        {{- include "verai.settingsEnv" $settings | nindent 8 }}
      ports:
        - name: metrics
          containerPort: {{ $agents.ports.metrics | int }}
      {{- include "verai.probes" (dict "port" "metrics" "startup" $agents.startupProbe) | nindent 6 }}
      resources:
        {{- $resources := deepCopy ($agent.resources | default dict) }}
        {{- if eq .kind "gpu" }}
        {{- $limits := merge (dict "nvidia.com/gpu" ($agent.gpus | int)) ($resources.limits | default dict) }}
        {{- $_ := set $resources "limits" $limits }}
        {{- end }}
        {{- toYaml $resources | nindent 8 }}
      securityContext:
        {{- toYaml $root.Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: work
          mountPath: /var/lib/verai
        - name: key
          mountPath: /run/secrets/verai/key
          readOnly: true
        {{- if $powercap }}
        - name: powercap
          mountPath: /host/sys/class/powercap
          readOnly: true
        {{- end }}
        {{- include "verai.commonMounts" $root | nindent 8 }}
  volumes:
    - name: key
      secret:
        secretName: {{ $agent.keySecret }}
        defaultMode: 0440
    {{- if $powercap }}
    # RAPL energy counters, read-only. Since Linux 5.10 energy_uj is readable by root only
    # (CVE-2020-8694): without a host rule that opens it, the agent (uid 10001) reads power
    # from NVML, or falls back to its flagged estimate.
    - name: powercap
      hostPath:
        path: /sys/class/powercap
        type: Directory
    {{- end }}
    {{- if eq .kind "gpu" }}
    - name: work
      {{- toYaml ($agent.workVolume | default (dict "emptyDir" (dict "sizeLimit" "10Gi"))) | nindent 6 }}
    {{- end }}
    {{- include "verai.commonVolumes" $root | nindent 4 }}
  {{- $selector := $agent.nodeSelector }}
  {{- $tolerations := $agent.tolerations }}
  {{- if eq .kind "gpu" }}
  {{- $selector = $agent.nodeSelector | default (dict "nvidia.com/gpu.present" "true") }}
  {{- $tolerations = $agent.tolerations | default (list (dict "key" "nvidia.com/gpu" "operator" "Exists" "effect" "NoSchedule")) }}
  {{- end }}
  {{- with $selector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $agent.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* Agent classes must have distinct names (their objects would collide otherwise). */}}
{{- define "verai.checkAgents" -}}
{{- $names := dict -}}
{{- range $agent := concat .Values.agents.gpu .Values.agents.cpu -}}
{{- if hasKey $names $agent.name -}}
{{- fail (printf "agents: the name %q is used by two classes" $agent.name) -}}
{{- end -}}
{{- $_ := set $names $agent.name true -}}
{{- end -}}
{{- end -}}
