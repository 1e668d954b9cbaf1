//! komek-escalation: departments (billing, network, roaming, finance, legal, ...) work what agents
//! escalate to them, and problem records that group many requests with one root cause.
//!
//! - [`startup`]: the app factory, used by `main` and tests.
//! - [`consumer`]: `request.escalated` opens an escalation (once), `escalation.info_given` resumes
//!   it, `request.created` feeds spike detection.
//! - [`routes`]: the departments' HTTP API and page.
//! - [`deadlines`]: department calendars and the watched deadline entries.
//! - [`watcher`]: breaches move escalations up the department's chain.
//! - [`live`]: the department page's WebSocket; which events concern which department.
//! - [`spikes`]: sliding-window counts per category and region; candidate problems.

pub mod consumer;
pub mod deadlines;
pub mod live;
pub mod routes;
pub mod spikes;
pub mod startup;
pub mod watcher;

/// What the consumer, the watcher and the routes share.
pub struct Deps {
    pub store: komek_store::Store,
    pub settings: komek_settings::Settings,
}
