//! The store handle and the single atomic write all changes go through.

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script, Value};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;

use crate::keys::Keys;

const COMMIT_LUA: &str = include_str!("lua/commit.lua");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("stored value at {key} cannot be read: {source}")]
    Corrupt {
        key: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("unexpected reply from the commit script: {0}")]
    Reply(String),
}

impl StoreError {
    /// Redis could not be reached or answered too late: the caller should say 503 and try later.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Redis(e) => {
                e.is_io_error()
                    || e.is_timeout()
                    || e.is_connection_dropped()
                    || e.is_connection_refusal()
            }
            _ => false,
        }
    }
}

/// An index operation applied in the same script as the change.
#[derive(Debug, Clone)]
pub enum Op {
    ZAdd {
        key: String,
        member: String,
        score: i64,
    },
    /// Change the score of a member that is there; add nothing (a request offered meanwhile stays
    /// out of its skill queue).
    ZAddXx {
        key: String,
        member: String,
        score: i64,
    },
    ZRem {
        key: String,
        member: String,
    },
    /// Remove, and refuse the whole change if the member was not there (claiming from a queue).
    ZRemMust {
        key: String,
        member: String,
    },
    SAdd {
        key: String,
        member: String,
    },
    SRem {
        key: String,
        member: String,
    },
    Set {
        key: String,
        value: String,
        ttl_secs: u64,
    },
    /// Set, and refuse the whole change if the key exists (first writer wins).
    SetNxMust {
        key: String,
        value: String,
        ttl_secs: u64,
    },
    /// Writes nothing; refuses the whole change unless the set has fewer than `limit` members
    /// (an agent's capacity).
    SCardBelow {
        key: String,
        limit: u64,
    },
    /// Writes nothing; refuses the whole change unless the string key still holds `value`
    /// (`None`: is absent). A change decided on a value read before it stands only if that value
    /// is still there when it is written.
    Holds {
        key: String,
        value: Option<String>,
    },
    /// Delete the key, whatever its type (a guard or a link that ends).
    Del {
        key: String,
    },
    /// One more outbox entry in the same change, after the commit's own event (a change that
    /// says two things, such as a reroute that also flags the escalation).
    Event {
        kind: String,
        json: String,
    },
}

/// One change of a versioned document.
#[derive(Debug, Clone)]
pub struct Commit {
    pub doc_key: String,
    pub expected_version: u64,
    /// The new document. Empty: the document is only checked (still at `expected_version`), not
    /// written, and keeps its version: for a change that depends on a document without changing
    /// it, so that many such changes at once do not conflict (requests joining one problem).
    pub json: String,
    pub history_key: Option<String>,
    pub history: Option<String>,
    /// (event type, envelope JSON) appended to the outbox.
    pub event: Option<(String, String)>,
    /// Handled-event marker key and its lifetime.
    pub marker: Option<(String, u64)>,
    pub ops: Vec<Op>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done {
        version: u64,
    },
    /// Someone changed the document since it was read.
    Conflict {
        current: u64,
    },
    /// The marker exists: this event was handled already.
    Duplicate,
    /// The n-th (from 0) operation's precondition failed; nothing was written.
    Precondition(usize),
}

/// The handle services share; cheap to clone.
#[derive(Clone)]
pub struct Store {
    conn: ConnectionManager,
    client: redis::Client,
    keys: Keys,
    commit: Script,
    response_timeout: Duration,
    /// The deadline policy that places warnings (see [`Store::with_deadlines`]).
    clock: Option<std::sync::Arc<crate::deadlines::Clock>>,
}

impl Store {
    pub async fn connect(settings: &komek_settings::RedisSettings) -> Result<Self, StoreError> {
        let client = redis::Client::open(settings.url.expose_secret())?;
        let response_timeout = settings.response_timeout;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(settings.connect_timeout))
            .set_response_timeout(Some(response_timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = client.get_connection_manager_with_config(config).await?;
        Ok(Self {
            conn,
            client,
            keys: Keys::new(&settings.prefix),
            commit: Script::new(COMMIT_LUA),
            response_timeout,
            clock: None,
        })
    }

    /// The same store, placing the deadline warnings it registers by `policy` on `calendar`.
    /// The service that moves requests through their lifecycle (the workspace) sets it; without it
    /// a warning is registered at its deadline (nothing else changes requests' deadlines).
    pub fn with_deadlines(
        mut self,
        policy: komek_domain::deadline::DeadlinePolicy,
        calendar: komek_domain::calendar::Calendar,
    ) -> Self {
        self.clock = Some(std::sync::Arc::new(crate::deadlines::Clock::new(
            policy, calendar,
        )));
        self
    }

    pub(crate) fn clock(&self) -> Option<&crate::deadlines::Clock> {
        self.clock.as_deref()
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The raw connection. Only this crate's modules speak to Redis with it; outside the crate it
    /// is for tests and benchmarks that inspect or prepare keys directly (production code calls
    /// the store's functions instead).
    pub fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// A separate connection for blocking reads (XREADGROUP BLOCK), which must not stall shared traffic.
    pub async fn dedicated(&self, block: Duration) -> Result<ConnectionManager, StoreError> {
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.response_timeout))
            .set_response_timeout(Some(self.response_timeout + block))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        Ok(self
            .client
            .get_connection_manager_with_config(config)
            .await?)
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut c = self.conn();
        let _: String = redis::cmd("PING").query_async(&mut c).await?;
        Ok(())
    }

    /// Runs the commit script. Safe to retry after a transport error: the version check (and the
    /// marker) make a repeated commit a conflict or a duplicate, never a second write.
    pub async fn commit(&self, c: &Commit) -> Result<Outcome, StoreError> {
        let none = self.keys.none();
        let outbox = self.keys.outbox();
        let mut inv = self.commit.prepare_invoke();
        inv.key(&c.doc_key)
            .key(c.history_key.as_deref().unwrap_or(&none))
            .key(self.keys.outbox())
            .key(c.marker.as_ref().map(|m| m.0.as_str()).unwrap_or(&none));
        inv.arg(c.expected_version)
            .arg(&c.json)
            .arg(c.history.as_deref().unwrap_or(""))
            .arg(c.event.as_ref().map(|e| e.1.as_str()).unwrap_or(""))
            .arg(c.event.as_ref().map(|e| e.0.as_str()).unwrap_or(""))
            .arg(c.marker.as_ref().map(|m| m.1.max(1)).unwrap_or(0))
            .arg(c.ops.len());
        for op in &c.ops {
            let (name, key, a, b) = match op {
                Op::ZAdd { key, member, score } => ("zadd", key, member.clone(), score.to_string()),
                Op::ZAddXx { key, member, score } => {
                    ("zadd xx", key, member.clone(), score.to_string())
                }
                Op::ZRem { key, member } => ("zrem", key, member.clone(), String::new()),
                Op::ZRemMust { key, member } => ("zrem!", key, member.clone(), String::new()),
                Op::SAdd { key, member } => ("sadd", key, member.clone(), String::new()),
                Op::SRem { key, member } => ("srem", key, member.clone(), String::new()),
                Op::Set {
                    key,
                    value,
                    ttl_secs,
                } => ("set", key, value.clone(), ttl_secs.to_string()),
                Op::SetNxMust {
                    key,
                    value,
                    ttl_secs,
                } => ("setnx!", key, value.clone(), ttl_secs.to_string()),
                Op::SCardBelow { key, limit } => ("scard<!", key, limit.to_string(), String::new()),
                Op::Holds { key, value } => match value {
                    Some(v) => ("is!", key, v.clone(), String::new()),
                    None => ("is!", key, String::new(), "1".to_owned()),
                },
                Op::Del { key } => ("del", key, String::new(), String::new()),
                Op::Event { kind, json } => ("xadd", &outbox, kind.clone(), json.clone()),
            };
            inv.key(key);
            inv.arg(name).arg(a).arg(b);
        }
        let mut conn = self.conn();
        let reply: Vec<Value> = inv.invoke_async(&mut conn).await?;
        let text = |v: &Value| -> Option<String> {
            match v {
                Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
                Value::SimpleString(s) => Some(s.clone()),
                _ => None,
            }
        };
        let num = |v: Option<&Value>| -> Option<u64> {
            match v {
                Some(Value::Int(i)) => u64::try_from(*i).ok(),
                _ => None,
            }
        };
        match reply.first().and_then(text).as_deref() {
            Some("ok") => num(reply.get(1))
                .map(|version| Outcome::Done { version })
                .ok_or_else(|| StoreError::Reply(format!("{reply:?}"))),
            Some("conflict") => Ok(Outcome::Conflict {
                current: num(reply.get(1)).unwrap_or(0),
            }),
            Some("duplicate") => Ok(Outcome::Duplicate),
            Some("precondition") => Ok(Outcome::Precondition(
                num(reply.get(1))
                    .and_then(|i| usize::try_from(i).ok())
                    .unwrap_or(1)
                    .saturating_sub(1),
            )),
            _ => Err(StoreError::Reply(format!("{reply:?}"))),
        }
    }

    /// Reads a versioned document: its value and version, or `None`.
    pub async fn load<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<(T, u64)>, StoreError> {
        let mut c = self.conn();
        let (v, json): (Option<u64>, Option<String>) = redis::cmd("HMGET")
            .arg(key)
            .arg("v")
            .arg("json")
            .query_async(&mut c)
            .await?;
        match (v, json) {
            (Some(v), Some(json)) => {
                serde_json::from_str(&json)
                    .map(|t| Some((t, v)))
                    .map_err(|source| StoreError::Corrupt {
                        key: key.to_owned(),
                        source,
                    })
            }
            _ => Ok(None),
        }
    }

    /// Versioned documents by key, in the order given (`None` where there is none), in one round
    /// trip per 500 keys: chunks keep one reply, and the time Redis spends on it, bounded.
    pub async fn load_many<T: DeserializeOwned>(
        &self,
        keys: &[String],
    ) -> Result<Vec<Option<(T, u64)>>, StoreError> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(500) {
            let mut pipe = redis::pipe();
            for key in chunk {
                pipe.cmd("HMGET").arg(key).arg("v").arg("json");
            }
            let mut c = self.conn();
            let raw: Vec<(Option<u64>, Option<String>)> = pipe.query_async(&mut c).await?;
            for (key, (v, json)) in chunk.iter().zip(raw) {
                out.push(match (v, json) {
                    (Some(v), Some(json)) => Some((
                        serde_json::from_str(&json).map_err(|source| StoreError::Corrupt {
                            key: key.clone(),
                            source,
                        })?,
                        v,
                    )),
                    _ => None,
                });
            }
        }
        Ok(out)
    }

    /// Reads a plain JSON string value.
    pub async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        let mut c = self.conn();
        let raw: Option<String> = c.get(key).await?;
        raw.map(|s| {
            serde_json::from_str(&s).map_err(|source| StoreError::Corrupt {
                key: key.to_owned(),
                source,
            })
        })
        .transpose()
    }

    /// Sets `key` to `value` for `ttl_secs` (a plain marker; no document, no event).
    pub async fn set_marker(
        &self,
        key: &str,
        value: &str,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        let mut c = self.conn();
        let _: () = c.set_ex(key, value, ttl_secs).await?;
        Ok(())
    }

    pub async fn get_string(&self, key: &str) -> Result<Option<String>, StoreError> {
        let mut c = self.conn();
        Ok(c.get(key).await?)
    }

    /// Deletes every key under this store's prefix (tests clean up with it).
    pub async fn delete_all(&self) -> Result<u64, StoreError> {
        let mut c = self.conn();
        let pattern = format!("{}:*", self.keys.prefix());
        let mut cursor: u64 = 0;
        let mut deleted = 0;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut c)
                .await?;
            if !batch.is_empty() {
                let n: u64 = redis::cmd("UNLINK").arg(&batch).query_async(&mut c).await?;
                deleted += n;
            }
            if next == 0 {
                return Ok(deleted);
            }
            cursor = next;
        }
    }
}
