{{/*
The alert rules, one source for the PrometheusRule and for `scripts/chart.sh rules` (promtool).
Every alert's runbook_url is the section of docs/operations.md named after it (lower-cased anchor).
*/}}
{{- define "komek.ruleGroups" -}}
{{- $m := .Values.monitoring.prometheusRule -}}
{{- $jobs := list -}}
{{- range $name, $svc := .Values.services -}}{{- if $svc.enabled -}}{{- $jobs = append $jobs (include "komek.svcName" (dict "root" $ "name" $name)) -}}{{- end -}}{{- end -}}
{{- $jobRe := join "|" $jobs -}}
{{- $rb := $m.runbookBaseUrl -}}
- name: komek.health
  rules:
    - alert: KomekServiceDown
      expr: up{job=~"{{ $jobRe }}"} == 0
      for: 2m
      labels:
        severity: warning
      annotations:
        summary: {{`"A Komek pod of {{ $labels.job }} cannot be scraped or is down ({{ $labels.instance }})."`}}
        description: Prometheus gets no answer from /metrics of this pod for 2 minutes.
        runbook_url: {{ $rb }}#komekservicedown
    {{- range $job := $jobs }}
    - alert: KomekServiceAbsent
      expr: absent(up{job="{{ $job }}"} == 1)
      for: 5m
      labels:
        severity: critical
        service: {{ $job }}
      annotations:
        summary: No pod of {{ $job }} is up.
        description: {{ $job }} has no pod answering /metrics for 5 minutes; its part of Komek is not working.
        runbook_url: {{ $rb }}#komekserviceabsent
    {{- end }}
    - alert: KomekRedisDown
      expr: min by (job) (komek_redis_up) == 0
      for: 1m
      labels:
        severity: critical
      annotations:
        summary: {{`"{{ $labels.job }} cannot reach Redis."`}}
        description: Redis holds every request; while it is away the services answer 503 and /readyz fails.
        runbook_url: {{ $rb }}#komekredisdown
    - alert: KomekRabbitMQDown
      expr: min by (job) (komek_amqp_up) == 0
      for: 1m
      labels:
        severity: critical
      annotations:
        summary: {{`"{{ $labels.job }} cannot reach RabbitMQ."`}}
        description: Events wait in the outbox while RabbitMQ is away; nothing is lost, but nothing moves.
        runbook_url: {{ $rb }}#komekrabbitmqdown
- name: komek.flow
  rules:
    - alert: KomekOutboxLag
      expr: max by (job) (komek_outbox_oldest_age_seconds) > {{ $m.outboxLagSeconds }}
      for: 5m
      labels:
        severity: warning
      annotations:
        summary: {{`"The oldest outbox entry of {{ $labels.job }} is {{ $value | humanizeDuration }} old."`}}
        description: Events are written but not published to RabbitMQ; other services do not see them.
        runbook_url: {{ $rb }}#komekoutboxlag
    - alert: KomekRelayFailures
      expr: sum by (job) (rate(komek_relay_failures_total[5m])) > 0
      for: 10m
      labels:
        severity: warning
      annotations:
        summary: {{`"The outbox relay of {{ $labels.job }} keeps failing to publish."`}}
        description: Publishing to RabbitMQ has failed for 10 minutes; the outbox grows.
        runbook_url: {{ $rb }}#komekrelayfailures
    - alert: KomekParkedMessages
      expr: max(komek_parked_messages) > 0 or sum by (job, queue) (increase(komek_events_parked_total[15m])) > 0
      for: 1m
      labels:
        severity: warning
      annotations:
        summary: Messages are waiting in Komek's parking queue.
        description: An event failed delivery_limit times and was parked; its effect (a notification, a status change) has not happened.
        runbook_url: {{ $rb }}#komekparkedmessages
    - alert: KomekDeadlineBreaches
      expr: sum by (kind) (increase(komek_deadline_breaches_total[15m])) > 0
      for: 0m
      labels:
        severity: warning
      annotations:
        summary: {{`"{{ $value | printf \"%.0f\" }} {{ $labels.kind }} deadlines breached in the last 15 minutes."`}}
        description: Requests or escalations passed their deadline; supervisors see them on their page.
        runbook_url: {{ $rb }}#komekdeadlinebreaches
    - alert: KomekWaitingTooLong
      expr: max(komek_waiting_oldest_age_seconds) > {{ $m.waitingOldestSeconds }}
      for: 5m
      labels:
        severity: warning
      annotations:
        summary: {{`"A customer request has waited {{ $value | humanizeDuration }} for an agent."`}}
        description: The waiting queue is not drained; too few agents are available, or routing is stuck.
        runbook_url: {{ $rb }}#komekwaitingtoolong
{{- end -}}
