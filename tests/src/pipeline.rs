//! What the pipeline behind intake is doing, read from outside the services, for the benchmark:
//! the depth of every consumer's queue (passive declares) and of the outbox stream, and the
//! consumers' lag histograms (`komek_event_lag_seconds` on each service's `/metrics`: from an
//! event's `occurred_at` to its consumer's outcome).

use komek_bus::topology::Names;
use komek_domain::events::SUBSCRIPTIONS;
use komek_settings::Settings;
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use secrecy::ExposeSecret;

/// How many messages wait, per consumer queue and in the outbox.
#[derive(Debug, Clone, Default)]
pub struct Depths {
    pub queues: Vec<(&'static str, u64)>,
    pub outbox: u64,
}

impl Depths {
    /// Everything accepted but not yet handled by every consumer.
    pub fn total(&self) -> u64 {
        self.outbox + self.queues.iter().map(|(_, n)| n).sum::<u64>()
    }

    /// `workspace 0, escalation 12, ... outbox 3`.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self
            .queues
            .iter()
            .map(|(q, n)| format!("{q} {n}"))
            .collect();
        parts.push(format!("outbox {}", self.outbox));
        parts.join(", ")
    }
}

/// Reads queue depths on one channel and the outbox length on one Redis connection.
pub struct Probe {
    _conn: Connection,
    ch: lapin::Channel,
    names: Names,
    redis: redis::aio::MultiplexedConnection,
    outbox_key: String,
}

impl Probe {
    pub async fn connect(settings: &Settings) -> Self {
        let conn = Connection::connect(
            settings.amqp.url.expose_secret(),
            ConnectionProperties::default(),
        )
        .await
        .unwrap_or_else(|e| crate::bench::setup_failed("connect to RabbitMQ", &e));
        let ch = conn
            .create_channel()
            .await
            .unwrap_or_else(|e| crate::bench::setup_failed("open a channel", &e));
        Self {
            _conn: conn,
            ch,
            names: Names::new(&settings.amqp.prefix),
            redis: crate::bench::redis_conn(settings).await,
            outbox_key: format!("{}:outbox", settings.redis.prefix),
        }
    }

    /// The depth of every subscribed queue (a queue not declared yet counts 0) and of the outbox.
    pub async fn depths(&mut self) -> Depths {
        let mut queues = Vec::new();
        for (service, _) in SUBSCRIPTIONS {
            let name = self.names.queue(service);
            let passive = QueueDeclareOptions {
                passive: true,
                ..Default::default()
            };
            let n = match self
                .ch
                .queue_declare(name.as_str().into(), passive, FieldTable::default())
                .await
            {
                Ok(q) => u64::from(q.message_count()),
                Err(_) => 0,
            };
            queues.push((*service, n));
        }
        let outbox: u64 = redis::cmd("XLEN")
            .arg(&self.outbox_key)
            .query_async(&mut self.redis)
            .await
            .unwrap_or(0);
        Depths { queues, outbox }
    }
}

/// One histogram series: its cumulative buckets `(le, count)` in ascending `le`, `+Inf` last.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Buckets(pub Vec<(f64, u64)>);

impl Buckets {
    /// The series `name` with exactly the given labels (besides `le`) in a Prometheus text
    /// exposition; empty when absent.
    pub fn parse(text: &str, name: &str, labels: &[(&str, &str)]) -> Self {
        let prefix = format!("{name}_bucket{{");
        let mut out = Vec::new();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix(&prefix) else {
                continue;
            };
            let Some((inside, value)) = rest.split_once("} ") else {
                continue;
            };
            let mut le = None;
            let mut matched = 0;
            let mut other = false;
            for pair in inside.split(',') {
                let Some((k, v)) = pair.split_once('=') else {
                    continue;
                };
                let v = v.trim_matches('"');
                if k == "le" {
                    le = Some(if v == "+Inf" {
                        f64::INFINITY
                    } else {
                        v.parse().unwrap_or(f64::NAN)
                    });
                } else if labels.iter().any(|(lk, lv)| *lk == k && *lv == v) {
                    matched += 1;
                } else {
                    other = true;
                }
            }
            if let (Some(le), false, true) = (le, other, matched == labels.len()) {
                out.push((le, value.trim().parse().unwrap_or(0)));
            }
        }
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        Self(out)
    }

    /// What was observed between `earlier` and `self` (same series, scraped twice).
    pub fn since(&self, earlier: &Self) -> Self {
        Self(
            self.0
                .iter()
                .map(|&(le, n)| {
                    let before = earlier
                        .0
                        .iter()
                        .find(|(l, _)| *l == le)
                        .map_or(0, |(_, b)| *b);
                    (le, n.saturating_sub(before))
                })
                .collect(),
        )
    }

    pub fn count(&self) -> u64 {
        self.0.last().map_or(0, |(_, n)| *n)
    }

    /// The upper bound of the bucket holding quantile `q` (0..1): the true value is at most this.
    /// `None` when nothing was observed; infinity when it lies beyond the last finite bucket.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = (q * total as f64).ceil().max(1.0) as u64;
        self.0.iter().find(|(_, n)| *n >= rank).map(|(le, _)| *le)
    }

    /// Every event type with a lag series for `queue` in `text`.
    pub fn events_of(text: &str, queue: &str) -> Vec<String> {
        let mut out: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("komek_event_lag_seconds_count{"))
            .filter_map(|rest| {
                let (inside, _) = rest.split_once('}')?;
                let label = |name: &str| {
                    inside.split(',').find_map(|pair| {
                        let (k, v) = pair.split_once('=')?;
                        (k == name).then(|| v.trim_matches('"').to_owned())
                    })
                };
                (label("queue")? == queue).then(|| label("event")).flatten()
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// The lag series of `event` handled by `queue`'s consumer.
pub fn lag(text: &str, queue: &str, event: &str) -> Buckets {
    Buckets::parse(
        text,
        "komek_event_lag_seconds",
        &[("queue", queue), ("event", event)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP komek_event_lag_seconds lag
komek_event_lag_seconds_bucket{event="request.created",queue="workspace",le="0.1"} 90
komek_event_lag_seconds_bucket{event="request.created",queue="workspace",le="1"} 99
komek_event_lag_seconds_bucket{event="request.created",queue="workspace",le="+Inf"} 100
komek_event_lag_seconds_count{event="request.created",queue="workspace"} 100
komek_event_lag_seconds_bucket{event="request.created",queue="escalation",le="0.1"} 5
komek_event_lag_seconds_bucket{event="request.created",queue="escalation",le="+Inf"} 5
"#;

    #[test]
    fn parses_one_series_and_its_quantiles() {
        let b = lag(TEXT, "workspace", "request.created");
        assert_eq!(b.0, vec![(0.1, 90), (1.0, 99), (f64::INFINITY, 100)]);
        assert_eq!(b.quantile(0.5), Some(0.1));
        assert_eq!(b.quantile(0.99), Some(1.0));
        assert_eq!(b.quantile(1.0), Some(f64::INFINITY));
        let earlier = Buckets(vec![(0.1, 80), (1.0, 80), (f64::INFINITY, 80)]);
        assert_eq!(
            b.since(&earlier).0,
            vec![(0.1, 10), (1.0, 19), (f64::INFINITY, 20)]
        );
        assert_eq!(lag(TEXT, "survey", "request.created").quantile(0.99), None);
        assert_eq!(
            Buckets::events_of(TEXT, "workspace"),
            vec!["request.created"]
        );
    }
}
