//! Offered assignment (push): a new request is offered to the best online agent over their live
//! connection; they accept it, decline it, or let the offer time out, and it goes back to its
//! queue. While offered it sits out of its skill queue, so nobody else pulls it; the claim on
//! acceptance is the same atomic claim as a pull.

use komek_domain::events::{Envelope, OfferEvent, kind};
use komek_domain::staff::{Presence, Role, User};
use komek_domain::{Request, RequestId, Status};
use komek_store::{Store, StoreError};
use time::OffsetDateTime;

use crate::Deps;

const ACTOR: &str = "system:routing";

fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn event(kind: &str, r: &Request, agent: &str, expires_at: OffsetDateTime) -> Envelope {
    let payload = OfferEvent {
        number: r.number.clone(),
        agent: agent.to_owned(),
        expires_at,
    };
    komek_bus::journey_event(
        kind,
        r.id,
        r.trace.as_deref(),
        &payload,
        OffsetDateTime::now_utc(),
    )
}

/// The online agent with the lightest load whose skills fit `r`, other than `except`.
async fn best_agent(
    store: &Store,
    r: &Request,
    except: Option<&str>,
) -> Result<Option<User>, StoreError> {
    let mut best: Option<(u64, User)> = None;
    // Only the agents online now; with nobody online an offer costs one read.
    for login in store.online_agents().await? {
        let Some(u) = store.user(&login).await? else {
            continue;
        };
        if u.role != Role::Agent
            || Some(u.login.as_str()) == except
            || !u.takes(r.category)
            || !u.qualified_for(r.priority)
        {
            continue;
        }
        if store.presence_of(&u.login).await? != Presence::Online {
            continue;
        }
        if !u.languages.contains(&r.language) && store.speakers_online(r.language).await? > 0 {
            continue;
        }
        let load = store.load_of(&u.login).await?;
        if load < u64::from(u.capacity) && best.as_ref().is_none_or(|(l, _)| load < *l) {
            best = Some((load, u));
        }
    }
    Ok(best.map(|(_, u)| u))
}

/// Who else may get an offer that was not taken.
#[derive(Clone, Copy)]
pub enum Again<'a> {
    /// A new request: anyone.
    Anyone,
    /// Declined: anyone but this agent.
    NotTo(&'a str),
    /// Timed out: preferably someone else, but the same agent if nobody else fits.
    PreferNot(&'a str),
}

/// Offers a waiting request to the best online agent; returns who, if anyone.
pub async fn offer(
    deps: &Deps,
    id: RequestId,
    again: Again<'_>,
) -> Result<Option<String>, StoreError> {
    if !deps.settings.routing.offers {
        return Ok(None);
    }
    let store = &deps.store;
    let Some(r) = store.request(id).await? else {
        return Ok(None);
    };
    if r.status != Status::Queued || store.offered_to(id).await?.is_some() {
        return Ok(None);
    }
    let agent = match again {
        Again::Anyone => best_agent(store, &r, None).await?,
        Again::NotTo(who) => best_agent(store, &r, Some(who)).await?,
        Again::PreferNot(who) => match best_agent(store, &r, Some(who)).await? {
            Some(a) => Some(a),
            None => best_agent(store, &r, None).await?,
        },
    };
    let Some(agent) = agent else { return Ok(None) };
    let now = OffsetDateTime::now_utc();
    let expires_at = now + deps.settings.routing.offer_timeout;
    let ttl = deps.settings.routing.offer_timeout.as_secs() * 2;
    let result = store
        .make_offer(id, &agent.login, ms(expires_at), ttl, |r| {
            (
                Request::record(ACTOR, "offered", Some(agent.login.clone()), now),
                event(kind::OFFER_MADE, r, &agent.login, expires_at),
            )
        })
        .await;
    match result {
        Ok(_) => {
            tracing::info!(request_id = %id, agent = %agent.login, "offered");
            Ok(Some(agent.login))
        }
        Err(komek_store::requests::UpdateError::Store(e)) => Err(e),
        Err(_) => Ok(None),
    }
}

/// Puts an offered request back into its queue (declined or timed out).
async fn withdraw(
    deps: &Deps,
    id: RequestId,
    agent: &str,
    action: &str,
    kind: &str,
) -> Result<bool, StoreError> {
    let now = OffsetDateTime::now_utc();
    deps.store
        .withdraw_offer(id, |r| {
            (
                Request::record(agent, action, None, now),
                event(kind, r, agent, now),
            )
        })
        .await
}

#[derive(Debug, thiserror::Error)]
pub enum OfferError {
    #[error("this request is not offered to you (the offer may have expired)")]
    NotYours,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The agent declines: back to the queue, and offered to someone else if anyone fits.
pub async fn decline(deps: &Deps, id: RequestId, agent: &User) -> Result<(), OfferError> {
    if deps.store.offered_to(id).await?.as_deref() != Some(agent.login.as_str()) {
        return Err(OfferError::NotYours);
    }
    if withdraw(
        deps,
        id,
        &agent.login,
        "offer_declined",
        kind::OFFER_DECLINED,
    )
    .await?
    {
        offer(deps, id, Again::NotTo(&agent.login)).await?;
    }
    Ok(())
}

/// Offers whose time ran out go back to their queues (claimed one by one, so one replica each).
pub async fn sweep(deps: &Deps) -> Result<(), StoreError> {
    let store = &deps.store;
    let now = ms(OffsetDateTime::now_utc());
    for id in store.claim_expired_offers(now, 100).await? {
        let agent = store.offered_to(id).await?.unwrap_or_default();
        if withdraw(deps, id, &agent, "offer_expired", kind::OFFER_EXPIRED).await? {
            tracing::info!(request_id = %id, agent = %agent, "offer expired");
            offer(deps, id, Again::PreferNot(&agent)).await?;
        }
    }
    Ok(())
}
