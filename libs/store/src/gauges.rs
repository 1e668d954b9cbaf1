//! What `/metrics` reads from Redis at scrape time. Each read is a handful of O(1) or O(log n)
//! commands in one pipeline (counts of sets the commits already keep, the first entry of a stream
//! or sorted set), never a scan of the requests, so a scrape stays cheap whatever the volume.

use komek_domain::lifecycle::Status;

use crate::commit::{Store, StoreError};

/// The outbox stream: entries not yet confirmed by the broker and the age of the oldest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutboxGauges {
    pub entries: u64,
    /// Seconds since the oldest entry was written; 0 when the outbox is empty.
    pub oldest_age_secs: f64,
}

/// Requests per status and the waiting queue.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestGauges {
    /// Every status with its count, zeros included (so a series never disappears).
    pub by_status: Vec<(Status, u64)>,
    pub waiting: u64,
    /// Seconds since the longest-waiting request was accepted; 0 when none waits.
    pub waiting_oldest_age_secs: f64,
}

/// One stream entry as `XRANGE` answers it: its id and its field-value pairs.
type StreamEntry = (String, Vec<(String, String)>);

fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX)
}

/// Seconds from `then_ms` to now, never negative (clocks of replicas differ slightly).
fn age_secs(then_ms: i64) -> f64 {
    (now_ms().saturating_sub(then_ms)).max(0) as f64 / 1000.0
}

fn parse<T: redis::FromRedisValue>(v: redis::Value) -> Result<T, StoreError> {
    redis::from_redis_value(v).map_err(|e| StoreError::Reply(e.to_string()))
}

impl Store {
    /// `XLEN` and the first entry's id (its milliseconds are its write time).
    pub async fn outbox_gauges(&self) -> Result<OutboxGauges, StoreError> {
        let key = self.keys().outbox();
        let mut c = self.conn();
        let (entries, first): (u64, Vec<StreamEntry>) = redis::pipe()
            .cmd("XLEN")
            .arg(&key)
            .cmd("XRANGE")
            .arg(&key)
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut c)
            .await?;
        let oldest_ms = first
            .first()
            .and_then(|(id, _)| id.split('-').next())
            .and_then(|ms| ms.parse::<i64>().ok());
        Ok(OutboxGauges {
            entries,
            oldest_age_secs: oldest_ms.map(age_secs).unwrap_or(0.0),
        })
    }

    /// `ZCARD` of each status index (kept by every request commit), and the global queue's size
    /// and its first member's score (its acceptance time).
    pub async fn request_gauges(&self) -> Result<RequestGauges, StoreError> {
        let keys = self.keys();
        let mut pipe = redis::pipe();
        for s in Status::ALL {
            pipe.cmd("ZCARD").arg(keys.ix_status(s.as_str()));
        }
        pipe.cmd("ZCARD").arg(keys.queue());
        pipe.cmd("ZRANGE")
            .arg(keys.queue())
            .arg(0)
            .arg(0)
            .arg("WITHSCORES");
        let mut c = self.conn();
        let mut raw: Vec<redis::Value> = pipe.query_async(&mut c).await?;
        let n = Status::ALL.len();
        if raw.len() != n + 2 {
            return Err(StoreError::Reply(format!(
                "{} replies to {} gauge reads",
                raw.len(),
                n + 2
            )));
        }
        let tail = raw.split_off(n);
        let mut counts = Vec::with_capacity(n);
        for v in raw {
            counts.push(parse::<u64>(v)?);
        }
        let mut tail = tail.into_iter();
        let waiting = tail.next().map(parse::<u64>).transpose()?.unwrap_or(0);
        let first = tail
            .next()
            .map(parse::<Vec<(String, f64)>>)
            .transpose()?
            .unwrap_or_default();
        let by_status = Status::ALL.iter().copied().zip(counts).collect();
        Ok(RequestGauges {
            by_status,
            waiting,
            waiting_oldest_age_secs: first
                .first()
                .map(|(_, score)| age_secs(*score as i64))
                .unwrap_or(0.0),
        })
    }

    /// Each department's open escalations (its active set), departments with none included.
    pub async fn open_escalations(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let keys = self.keys();
        let mut c = self.conn();
        let mut codes: Vec<String> =
            redis::AsyncCommands::hkeys(&mut c, keys.departments()).await?;
        codes.sort();
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for code in &codes {
            pipe.cmd("ZCARD").arg(keys.department_escalations(code));
        }
        let counts: Vec<u64> = pipe.query_async(&mut c).await?;
        Ok(codes.into_iter().zip(counts).collect())
    }
}
