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
        mut f: impl FnMut(&mut T) -> Result<(Option<Envelope>, Vec<Op>), E>,
    ) -> Result<T, UpdateError<E>>
    where
        T: Serialize + DeserializeOwned,
    {
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
                    marker: None,
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

    /// A department's open escalations oldest first, or with `answered` its answered ones newest first.
    pub async fn department_escalations(
        &self,
        department: &str,
        answered: bool,
        limit: usize,
    ) -> Result<Vec<Escalation>, StoreError> {
        let mut c = self.conn();
        let stop = isize::try_from(limit)
            .unwrap_or(isize::MAX)
            .saturating_sub(1);
        let ids: Vec<String> = if answered {
            c.zrevrange(self.keys().department_answered(department), 0, stop)
                .await?
        } else {
            c.zrange(self.keys().department_escalations(department), 0, stop)
                .await?
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Ok(id) = id.parse()
                && let Some(e) = self.escalation(id).await?
            {
                out.push(e);
            }
        }
        Ok(out)
    }

    pub async fn survey(&self, token_hash: &str) -> Result<Option<Survey>, StoreError> {
        Ok(self
            .load(&self.keys().survey(token_hash))
            .await?
            .map(|(s, _)| s))
    }
}
