//! komek-workspace: where agents and supervisors work requests.
//!
//! - [`startup`]: the app factory (seeds demo data when `seed.demo`), used by `main` and tests.
//! - [`routes`]: login, the queue, and the actions on one request.
//! - [`consumer`]: applies events from other services to requests: a new request enters the queue,
//!   a department's answer returns the request to its agent, a bad survey score reopens it, a
//!   customer's message is added (and ends a wait for the customer, or reopens a resolved request).
//! - [`live`]: who each event concerns, pushed over the shared live sockets ([`komek_web::live`]).
//! - [`offers`]: offered assignment (push) with a timeout.
//! - [`watcher`]: fires deadline warnings and breaches, once across replicas and restarts.

pub mod consumer;
pub mod live;
pub mod offers;
pub mod routes;
pub mod startup;
pub mod watcher;

/// What the consumer and the watcher need, shared by the tasks of one replica.
pub struct Deps {
    pub store: komek_store::Store,
    pub settings: komek_settings::Settings,
    pub calendar: komek_domain::calendar::Calendar,
}

/// Every deadline a request can have: resolving it (by an agent or by its problem) clears them all.
pub const ALL_DEADLINES: [komek_store::deadlines::Kind; 4] = [
    komek_store::deadlines::Kind::FirstResponseWarning,
    komek_store::deadlines::Kind::FirstResponseBreach,
    komek_store::deadlines::Kind::ResolutionWarning,
    komek_store::deadlines::Kind::ResolutionBreach,
];

/// The resolution clock around a status change from `before` to `r.status`: pausing (entering
/// `waiting_customer`) stops watching the resolution deadline; resuming (leaving it) moves the
/// deadline by the working time spent waiting and watches it again. Used by the agents' actions
/// and by the consumer (a customer's message ends the wait).
pub fn clock_ops(
    deps: &Deps,
    keys: &komek_store::Keys,
    r: &mut komek_domain::Request,
    before: komek_domain::Status,
    now: time::OffsetDateTime,
) -> Vec<komek_store::Op> {
    use komek_domain::Status;
    use komek_store::deadlines::{self, Kind};
    const RESOLUTION: [Kind; 2] = [Kind::ResolutionWarning, Kind::ResolutionBreach];
    if r.status == Status::WaitingCustomer && before != Status::WaitingCustomer {
        return deadlines::clear_ops(keys, r, &RESOLUTION);
    }
    if before == Status::WaitingCustomer && r.status != Status::WaitingCustomer {
        let cal = deps
            .settings
            .deadlines
            .calendar_for(&deps.calendar, r.priority);
        let paused = r.resume_clock(now, |a, b| cal.between(a, b), |t, m| cal.add(t, m));
        tracing::info!(request_id = %r.id, paused_minutes = paused, "resolution clock resumed");
        if r.status.is_open() {
            let warn = deps.settings.deadlines.warnings_for(
                &deps.calendar,
                r.priority,
                r.created_at,
                &r.due,
            );
            return deadlines::register_ops(keys, r, &warn);
        }
    }
    Vec::new()
}
