#!/usr/bin/env python3
"""Writes helm/komek/dashboards/komek.json, the Grafana dashboard on Komek's metrics.

Kept as code so a panel is one line; rerun after editing: python3 helm/komek/tests/gen_dashboard.py.
`job` is the Prometheus job (one per service, <release>-<service>), chosen by the $job variable.
"""

import json
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "dashboards" / "komek.json"
J = '{job=~"$job"}'


def J_(extra):
    return '{job=~"$job", ' + extra + "}"


ROWS = [
    ("Health", [
        ("Pods up", "stat", [("sum by (job) (up" + J + ")", "{{job}}")], "short"),
        ("Redis connected", "stat", [("min by (job) (komek_redis_up" + J + ")", "{{job}}")], "bool"),
        ("RabbitMQ connected", "stat", [("min by (job) (komek_amqp_up" + J + ")", "{{job}}")], "bool"),
        ("Build", "table", [("komek_build_info" + J, "{{service}} {{version}}")], "short"),
    ]),
    ("Requests", [
        ("Requests by status", "timeseries", [("max by (status) (komek_requests" + J + ")", "{{status}}")], "short"),
        ("Waiting requests", "timeseries", [("max(komek_waiting_requests" + J + ")", "waiting")], "short"),
        ("Oldest waiting request", "timeseries", [("max(komek_waiting_oldest_age_seconds" + J + ")", "oldest")], "s"),
        ("Live sessions", "timeseries", [("sum by (job) (komek_live_sessions" + J + ")", "{{job}}")], "short"),
        ("Open escalations by department", "timeseries",
         [("max by (department) (komek_open_escalations" + J + ")", "{{department}}")], "short"),
    ]),
    ("Deadlines", [
        ("Deadline warnings / 15 min", "timeseries",
         [("sum by (kind) (increase(komek_deadline_warnings_total" + J + "[15m]))", "{{kind}}")], "short"),
        ("Deadline breaches / 15 min", "timeseries",
         [("sum by (kind) (increase(komek_deadline_breaches_total" + J + "[15m]))", "{{kind}}")], "short"),
    ]),
    ("Outbox and events", [
        ("Outbox entries", "timeseries", [("sum by (job) (komek_outbox_entries" + J + ")", "{{job}}")], "short"),
        ("Oldest outbox entry", "timeseries", [("max by (job) (komek_outbox_oldest_age_seconds" + J + ")", "{{job}}")], "s"),
        ("Relay publishes / failures per second", "timeseries",
         [("sum by (job) (rate(komek_relay_published_total" + J + "[5m]))", "published {{job}}"),
          ("sum by (job) (rate(komek_relay_failures_total" + J + "[5m]))", "failed {{job}}")], "ops"),
        ("Events handled per second", "timeseries",
         [("sum by (queue) (rate(komek_events_handled_total" + J + "[5m]))", "{{queue}}")], "ops"),
        ("Events retried / parked per second", "timeseries",
         [("sum by (queue) (rate(komek_events_retried_total" + J + "[5m]))", "retried {{queue}}"),
          ("sum by (queue) (rate(komek_events_parked_total" + J + "[5m]))", "parked {{queue}}")], "ops"),
        ("Parked messages", "stat", [("max(komek_parked_messages" + J + ")", "parked")], "short"),
        ("Event handling p95", "timeseries",
         [("histogram_quantile(0.95, sum by (queue, le) (rate(komek_event_handling_seconds_bucket" + J + "[5m])))",
           "{{queue}}")], "s"),
    ]),
    ("HTTP", [
        ("HTTP requests per second by status", "timeseries",
         [("sum by (job, status) (rate(http_request_duration_seconds_count" + J + "[5m]))", "{{job}} {{status}}")], "reqps"),
        ("HTTP p95 by route", "timeseries",
         [("histogram_quantile(0.95, sum by (route, le) (rate(http_request_duration_seconds_bucket" + J + "[5m])))",
           "{{route}}")], "s"),
        ("HTTP 5xx ratio", "timeseries",
         [("sum by (job) (rate(http_request_duration_seconds_count" + J_('status=~"5.."') + "[5m])) / "
           "sum by (job) (rate(http_request_duration_seconds_count" + J + "[5m]))", "{{job}}")], "percentunit"),
    ]),
]


def dashboard():
    panels, pid, y = [], 1, 0
    for title, row in ROWS:
        panels.append({"type": "row", "title": title, "id": pid, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}})
        pid, y, x = pid + 1, y + 1, 0
        for name, kind, targets, unit in row:
            w = 6 if kind == "stat" or kind == "table" else 8
            if x + w > 24:
                x, y = 0, y + 8
            panels.append({
                "type": kind, "title": name, "id": pid,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"h": 8, "w": w, "x": x, "y": y},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "options": {},
                "targets": [{"refId": chr(65 + i), "expr": e, "legendFormat": lf,
                             "datasource": {"type": "prometheus", "uid": "${datasource}"}}
                            for i, (e, lf) in enumerate(targets)],
            })
            pid, x = pid + 1, x + w
        y += 8
    return {
        "title": "Komek", "uid": "komek-overview", "schemaVersion": 39, "version": 1, "editable": True,
        "tags": ["komek"], "timezone": "browser", "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"},
            {"name": "job", "type": "query", "label": "Service", "multi": True, "includeAll": True,
             "allValue": ".*", "datasource": {"type": "prometheus", "uid": "${datasource}"},
             "query": {"query": "label_values(komek_build_info, job)", "refId": "jobs"},
             "definition": "label_values(komek_build_info, job)", "refresh": 2},
        ]},
        "annotations": {"list": []},
        "panels": panels,
    }


if __name__ == "__main__":
    OUT.write_text(json.dumps(dashboard(), indent=2) + "\n")
    print(f"wrote {OUT}")
