//! Escalations and surveys: versioned documents on the same atomic commit as requests.

use komek_domain::escalation::Escalation;
use komek_domain::events::Envelope;
use komek_domain::survey::Survey;
use redis::AsyncCommands;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::commit::{Commit, Op, Outcome, Store, StoreError};
use crate::requests::{MARKER_TTL_SECS, UpdateError};

fn to_json<T: Serialize>(t: &T) -> String {
    serde_json::to_string(t).unwrap_or_default()
}

impl Store {
    /// Stores a new document once; with `marker`, a redelivered event finds it done (`Duplicate`).
    pub async fn create_doc<T: Serialize>(
        &self,
        key: &str,
        doc: &T,
        event: Option<&Envelope>,
        marker: Option<String>,
        ops: Vec<Op>,
    ) -> Result<Outcome, StoreError> {
        self.commit(&Commit {
            doc_key: key.to_owned(),
            expected_version: 0,
            json: to_json(doc),
            history_key: None,
            history: None,
            event: event.map(|e| (e.kind.clone(), to_json(e))),
            marker: marker.map(|m| (m, MARKER_TTL_SECS)),
            ops,
        })
        .await
    }

    /// Loads, changes and commits a document with optimistic concurrency.
    pub async fn update_doc<T, E>(
        &self,
        key: &str,
        f: impl FnMut(&mut T) -> Result<(Option<Envelope>, Vec<Op>), E>,
    ) -> Result<T, UpdateError<E>>
    where
        T: Serialize + DeserializeOwned,
    {
        self.update_doc_marked(key, None, f).await
    }

    /// [`Store::update_doc`] for a consumer: `marker` (a `handled` key) is written with the change,
    /// so a redelivered event gets [`UpdateError::Duplicate`] instead of a second change. It is
    /// also looked at first, so `f` never judges a document its own earlier delivery already changed.
    pub async fn update_doc_marked<T, E>(
        &self,
        key: &str,
        marker: Option<String>,
        mut f: impl FnMut(&mut T) -> Result<(Option<Envelope>, Vec<Op>), E>,
    ) -> Result<T, UpdateError<E>>
    where
        T: Serialize + DeserializeOwned,
    {
        if let Some(m) = &marker
            && self.exists(m).await?
        {
            return Err(UpdateError::Duplicate);
        }
        for _ in 0..8 {
            let Some((mut doc, version)) = self.load::<T>(key).await? else {
                return Err(UpdateError::NotFound);
            };
            let (event, ops) = f(&mut doc).map_err(UpdateError::Rejected)?;
            let outcome = self
                .commit(&Commit {
                    doc_key: key.to_owned(),
                    expected_version: version,
                    json: to_json(&doc),
                    history_key: None,
                    history: None,
                    event: event.as_ref().map(|e| (e.kind.clone(), to_json(e))),
                    marker: marker.clone().map(|m| (m, MARKER_TTL_SECS)),
                    ops,
                })
                .await?;
            match outcome {
                Outcome::Done { .. } => return Ok(doc),
                Outcome::Conflict { .. } => continue,
                Outcome::Duplicate => return Err(UpdateError::Duplicate),
                Outcome::Precondition(i) => return Err(UpdateError::Precondition(i)),
            }
        }
        Err(UpdateError::Contended)
    }

    pub async fn escalation(&self, id: Uuid) -> Result<Option<Escalation>, StoreError> {
        Ok(self
            .load(&self.keys().escalation(id))
            .await?
            .map(|(e, _)| e))
    }

    /// Escalations by id, in the order given, in one round trip per 500; ids with no document
    /// (or that are not uuids) are left out.
    pub async fn escalations(&self, ids: &[String]) -> Result<Vec<Escalation>, StoreError> {
        let keys: Vec<String> = ids
            .iter()
            .filter_map(|id| id.parse::<Uuid>().ok())
            .map(|id| self.keys().escalation(id))
            .collect();
        Ok(self
            .load_many::<Escalation>(&keys)
            .await?
            .into_iter()
            .flatten()
            .map(|(e, _)| e)
            .collect())
    }

    /// Every active (open, accepted, info requested) escalation of a department, the nearest
    /// deadline first; those without a running deadline (the head's, once breached) last, oldest
    /// first. Sorted here because the queue is scored by creation time while a deadline moves
    /// (a breach, information given).
    pub async fn active_escalations(
        &self,
        department: &str,
    ) -> Result<Vec<Escalation>, StoreError> {
        let mut c = self.conn();
        let ids: Vec<String> = c
            .zrange(self.keys().department_escalations(department), 0, -1)
            .await?;
        let mut out = self.escalations(&ids).await?;
        out.sort_by_key(|e| (e.due_at.is_none(), e.due_at, e.created_at));
        Ok(out)
    }

    /// A department's answered escalations, newest answer first, answered at or after `since_ms`
    /// (`i64::MIN`: any time), at most `limit`.
    pub async fn answered_escalations(
        &self,
        department: &str,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<Escalation>, StoreError> {
        let mut c = self.conn();
        let ids: Vec<String> = c
            .zrevrangebyscore_limit(
                self.keys().department_answered(department),
                "+inf",
                since_ms,
                0,
                isize::try_from(limit).unwrap_or(isize::MAX),
            )
            .await?;
        self.escalations(&ids).await
    }

    /// Escalations flagged for bouncing between departments, newest flag first, at most `limit`.
    pub async fn flagged_escalations(&self, limit: usize) -> Result<Vec<Escalation>, StoreError> {
        let mut c = self.conn();
        let stop = isize::try_from(limit)
            .unwrap_or(isize::MAX)
            .saturating_sub(1);
        let ids: Vec<String> = c.zrevrange(self.keys().esc_flagged(), 0, stop).await?;
        self.escalations(&ids).await
    }

    /// How many members a sorted set has scored at or after `since_ms` (`i64::MIN`: all of them).
    pub async fn count_since(&self, key: &str, since_ms: i64) -> Result<u64, StoreError> {
        let mut c = self.conn();
        Ok(if since_ms == i64::MIN {
            c.zcard(key).await?
        } else {
            c.zcount(key, since_ms, "+inf").await?
        })
    }

    pub async fn survey(&self, token_hash: &str) -> Result<Option<Survey>, StoreError> {
        Ok(self
            .load(&self.keys().survey(token_hash))
            .await?
            .map(|(s, _)| s))
    }
}
