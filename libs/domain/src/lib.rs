//! Komek's domain: what a request is and how it may change. No I/O lives here.
//!
//! - [`model`]: the request aggregate, its newtypes (ids, numbers, contacts, languages) and history.
//! - [`lifecycle`]: the explicit state machine; an illegal transition is an error.
//! - [`lang`]: language detection from text (Kazakh-only letters, other Cyrillic, else English).
//! - [`classify`]: rule-based category and priority from keywords in kk, ru and en.
//! - [`events`]: the versioned event envelope, event types, routing keys and queue names.
//! - [`calendar`]: business hours (time zone, working days, hours, holidays) for deadlines.
//! - [`deadline`]: deadline policies by category, priority and channel, and warning moments.
//! - [`ack`]: the customer acknowledgment text in the customer's language.
//! - [`staff`], [`escalation`], [`survey`]: users and departments (hours, deadlines), escalations
//!   (lifecycle, tiers, bounces), feedback surveys.
//! - [`problem`]: problem records that group requests with one root cause.
//! - [`spike`]: the spike decision (window count against the usual level) and category departments.
//! - [`template`]: reply templates per category and language, and their placeholder rendering.
//! - [`text`]: free text from outside, trimmed and bounded once ([`text::BoundedText`]).

pub mod ack;
pub mod calendar;
pub mod classify;
pub mod deadline;
pub mod escalation;
pub mod events;
pub mod lang;
pub mod lifecycle;
pub mod model;
pub mod problem;
pub mod spike;
pub mod staff;
pub mod survey;
pub mod template;
pub mod text;

#[cfg(test)]
mod fuzz_tests;

pub use lifecycle::{Status, TransitionError};
pub use model::*;
