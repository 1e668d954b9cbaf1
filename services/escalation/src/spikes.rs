//! Spike detection: each `request.created` is counted under its key, the category and, with
//! `spikes.by_region`, the customer's region (from the customer directory; `-` when unknown). When
//! the sliding window ending at the event holds far more requests than usual
//! ([`komek_domain::spike::decide`]), a candidate problem is opened with the window's requests;
//! while it is open, later requests of that key join it. The method is in ARCHITECTURE.md.
//!
//! Time is the event's `occurred_at`, not the clock, so a replayed or generated stream is judged
//! by when its requests came in. Redelivery is harmless: counting adds the request id to a sorted
//! set first and bumps a window's count only for a new member, linking skips what is linked, and
//! `spike_open` (`setnx!` in the candidate's own commit) lets one replica open one candidate.

use std::sync::Arc;

use komek_bus::HandleError;
use komek_domain::events::{Envelope, RequestCreated};
use komek_domain::problem::{ProblemStatus, SpikeInfo};
use komek_domain::spike::{Thresholds, Verdict, decide, department_of};
use komek_domain::{Category, Msisdn, RequestId};
use komek_store::problems::NewProblem;
use komek_store::requests::UpdateError;
use komek_store::{Op, Store, StoreError};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Deps;

/// Who opens candidate problems and links requests to them.
pub const ACTOR: &str = "system:spike";
/// `spike_open` and request keys without a known region.
pub const NO_REGION: &str = "-";

fn retry(e: StoreError) -> HandleError {
    HandleError::Retry(e.to_string())
}

pub async fn on_request_created(deps: Arc<Deps>, env: Envelope) -> Result<(), HandleError> {
    let cfg = &deps.settings.spikes;
    if !cfg.enabled {
        return Ok(());
    }
    let created: RequestCreated = env
        .payload()
        .map_err(|e| HandleError::Reject(e.to_string()))?;
    let store = &deps.store;
    let region = if cfg.by_region {
        region_of(store, env.request_id, created.msisdn.as_ref())
            .await
            .map_err(retry)?
    } else {
        None
    };
    let category = created.category.as_str();
    let region_key = region.as_deref().unwrap_or(NO_REGION);
    let window_ms = i64::from(cfg.window_minutes.max(1)) * 60_000;
    let Some(counts) = store
        .spike_record(
            category,
            region_key,
            &env.request_id.to_string(),
            env.occurred_at,
            window_ms,
            cfg.baseline_windows,
        )
        .await
        .map_err(retry)?
    else {
        tracing::debug!(request_id = %env.request_id, "request.created older than the spike baseline; not counted");
        return Ok(());
    };
    let open_key = store.keys().spike_open(category, region_key);
    // The window judged ends at the key's newest request (see `spike_record`).
    let since = counts.at - time::Duration::milliseconds(window_ms);
    let window = Window {
        category,
        region: region_key,
        since,
        request: env.request_id,
        at: counts.at,
    };
    if let Some(open) = open_candidate(store, &open_key).await.map_err(retry)? {
        return join(store, open, &window).await;
    }
    let verdict = decide(
        counts.count,
        &counts.baseline,
        &Thresholds {
            min_count: cfg.min_count,
            factor: cfg.factor,
            sigmas: cfg.sigmas,
        },
    );
    if !verdict.spike {
        return Ok(());
    }
    let new = NewProblem {
        title: title(
            counts.count,
            created.category,
            region.as_deref(),
            cfg.window_minutes,
            &verdict,
        ),
        description: String::new(),
        department: department_of(created.category).map(str::to_owned),
        category: Some(created.category),
        region: region.clone(),
        status: ProblemStatus::Candidate,
        created_by: ACTOR.to_owned(),
        spike: Some(SpikeInfo {
            window_minutes: cfg.window_minutes,
            count: counts.count,
            baseline_mean: verdict.mean,
            baseline_sd: verdict.sd,
            threshold: verdict.threshold,
        }),
    };
    // The guard holds the candidate's id, written in the candidate's own commit: two replicas
    // seeing the same spike open one, the other finds the guard and links to it.
    let guard = |id: Uuid| {
        vec![Op::SetNxMust {
            key: open_key.clone(),
            value: id.to_string(),
            ttl_secs: 0,
        }]
    };
    let opened = store
        .create_problem(new, guard, env.occurred_at)
        .await
        .map_err(retry)?;
    let problem_id = match opened {
        Some(p) => {
            tracing::info!(problem_id = %p.id, number = %p.number, category, region = region_key, count = counts.count, threshold = verdict.threshold, "spike: candidate problem opened");
            p.id
        }
        None => match open_candidate(store, &open_key).await.map_err(retry)? {
            Some(id) => id,
            // The guard's candidate was dismissed or resolved between our look and our commit:
            // try again (the guard is gone or points at a closed problem).
            None => return Err(HandleError::Retry("spike guard changed under us".into())),
        },
    };
    join(store, problem_id, &window).await
}

/// The request an event is about, and the spike window it falls in.
struct Window<'a> {
    category: &'a str,
    region: &'a str,
    since: OffsetDateTime,
    request: RequestId,
    at: OffsetDateTime,
}

/// How long the "window linked" marker of a candidate lasts: after it, the next request of the key
/// links the window once more (cheap, idempotent) and sets it again.
const BACKFILLED_TTL_SECS: u64 = 24 * 3600;

/// Links the event's request to the open candidate, and the candidate's whole window the first time
/// only: the opener links it, or, when a crash came between the candidate's commit and those links,
/// the next request of the key does. Later requests link just themselves, so each event costs the
/// same however big the burst (reading and linking the window on every event made a burst's cost
/// quadratic in its size, in the very situation spike detection exists for).
async fn join(store: &Store, problem: Uuid, w: &Window<'_>) -> Result<(), HandleError> {
    let done = store.keys().spike_backfilled(problem);
    if store.get_string(&done).await.map_err(retry)?.is_some() {
        return link(store, problem, &[w.request], w.at).await;
    }
    let ids = store
        .spike_window(w.category, w.region, w.since, w.at)
        .await
        .map_err(retry)?;
    link(store, problem, &ids, w.at).await?;
    store
        .set_marker(&done, "1", BACKFILLED_TTL_SECS)
        .await
        .map_err(retry)
}

/// The customer's region from the directory; `None` when the request, its number or the
/// customer is unknown (a request that is gone is still counted, under no region).
async fn region_of(
    store: &Store,
    id: RequestId,
    msisdn: Option<&Msisdn>,
) -> Result<Option<String>, StoreError> {
    // The event names the number; only an event from before it did needs the request read.
    let msisdn = match msisdn {
        Some(m) => m.clone(),
        None => {
            let Some(request) = store.request(id).await? else {
                return Ok(None);
            };
            let Some(m) = request.customer.msisdn else {
                return Ok(None);
            };
            m
        }
    };
    Ok(store
        .directory_customer(msisdn.as_str())
        .await?
        .map(|c| c.region)
        .filter(|r| !r.trim().is_empty()))
}

/// The open candidate behind `spike_open`, if it still accepts requests.
async fn open_candidate(store: &Store, open_key: &str) -> Result<Option<Uuid>, StoreError> {
    let Some(id) = store
        .get_string(open_key)
        .await?
        .and_then(|s| s.parse::<Uuid>().ok())
    else {
        return Ok(None);
    };
    Ok(store.problem_is_open(id).await?.then_some(id))
}

async fn link(
    store: &Store,
    problem: Uuid,
    ids: &[RequestId],
    now: OffsetDateTime,
) -> Result<(), HandleError> {
    match store.link_requests(problem, ids, ACTOR, now).await {
        Ok(out) => {
            // A window linked at once is worth a line; each later request joining is not (one
            // per request of a burst).
            if out.linked.len() > 1 {
                tracing::info!(problem_id = %problem, linked = out.linked.len(), "spike: requests linked");
            } else if !out.linked.is_empty() {
                tracing::debug!(problem_id = %problem, "spike: request linked");
            }
            Ok(())
        }
        // Confirmed and resolved since we looked: nothing more to link.
        Err(UpdateError::Rejected(_) | UpdateError::NotFound) => Ok(()),
        Err(e) => Err(HandleError::Retry(e.to_string())),
    }
}

/// "Spike: 42 network requests in Almaty in 15 min (usual 3.1)".
fn title(
    count: u64,
    category: Category,
    region: Option<&str>,
    minutes: u32,
    v: &Verdict,
) -> String {
    let place = region.map(|r| format!(" in {r}")).unwrap_or_default();
    format!(
        "Spike: {count} {} requests{place} in {minutes} min (usual {:.1})",
        category.as_str(),
        v.mean
    )
}
