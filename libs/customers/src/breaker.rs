//! A circuit breaker: a small state machine in front of a remote system that keeps failing.
//!
//! ```text
//! closed --(N consecutive failures)--> open --(cooldown passed: one trial call)--> half-open
//!   ^                                    ^                                            |
//!   +------------- trial succeeds -------|---------------------------------------------+
//!                                        +------------- trial fails ------------------+
//! ```
//!
//! - **Closed**: every call goes through; a success resets the failure count.
//! - **Open**: calls fail at once ([`Rejected`]) without touching the remote system, until the
//!   cooldown has passed.
//! - **Half-open**: exactly one trial call goes through; others are rejected meanwhile. Its
//!   success closes the breaker, its failure opens it for another cooldown. A trial that is
//!   dropped unfinished (the caller went away) counts as failed, so the breaker never waits for a
//!   trial that will not report.
//!
//! Time is passed in (`now`), so the state machine is tested without waiting. The state is per
//! process (each replica learns on its own that the remote system is down), which is what a
//! breaker is for: to stop this process from waiting on it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What the breaker is doing, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen,
}

/// The call was not made: the breaker is open (or its one trial call is under way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("circuit breaker open")]
pub struct Rejected;

#[derive(Debug)]
pub struct Breaker {
    /// Consecutive failures that open the breaker.
    failures_to_open: u32,
    /// How long it stays open before a trial call.
    cooldown: Duration,
    state: Mutex<State>,
}

/// Leave to make one call; report how it went with [`Permit::succeeded`] or [`Permit::failed`].
#[derive(Debug)]
#[must_use = "report the call's outcome"]
pub struct Permit<'a> {
    breaker: &'a Breaker,
    /// Whether this is the half-open trial call.
    trial: bool,
    reported: bool,
}

impl Breaker {
    pub fn new(failures_to_open: u32, cooldown: Duration) -> Self {
        Self {
            failures_to_open: failures_to_open.max(1),
            cooldown,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the small state inconsistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state as of `now` (an open breaker whose cooldown has passed reads as half-open).
    pub fn state(&self, now: Instant) -> BreakerState {
        match *self.lock() {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { until } if now < until => BreakerState::Open,
            State::Open { .. } | State::HalfOpen => BreakerState::HalfOpen,
        }
    }

    /// Asks to make a call at `now`.
    pub fn try_call(&self, now: Instant) -> Result<Permit<'_>, Rejected> {
        let mut state = self.lock();
        let trial = match *state {
            State::Closed { .. } => false,
            State::Open { until } if now < until => return Err(Rejected),
            State::Open { .. } => {
                *state = State::HalfOpen;
                true
            }
            State::HalfOpen => return Err(Rejected),
        };
        Ok(Permit {
            breaker: self,
            trial,
            reported: false,
        })
    }

    fn on_success(&self) {
        *self.lock() = State::Closed { failures: 0 };
    }

    fn on_failure(&self, trial: bool, now: Instant) {
        let mut state = self.lock();
        let open = State::Open {
            until: now + self.cooldown,
        };
        *state = match *state {
            State::Closed { failures } if failures + 1 >= self.failures_to_open => open,
            State::Closed { failures } => State::Closed {
                failures: failures + 1,
            },
            State::HalfOpen if trial => open,
            // A call let through before the breaker opened: it stays open as it is.
            other => other,
        };
    }
}

impl Permit<'_> {
    pub fn succeeded(mut self) {
        self.reported = true;
        self.breaker.on_success();
    }

    pub fn failed(mut self, now: Instant) {
        self.reported = true;
        self.breaker.on_failure(self.trial, now);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.reported && self.trial {
            self.breaker.on_failure(true, Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOL: Duration = Duration::from_secs(30);

    /// Three failures in a row open it; a success in between starts the count again.
    #[test]
    fn consecutive_failures_open_it() {
        let b = Breaker::new(3, COOL);
        let t = Instant::now();
        b.try_call(t).unwrap().failed(t);
        b.try_call(t).unwrap().failed(t);
        b.try_call(t).unwrap().succeeded();
        b.try_call(t).unwrap().failed(t);
        b.try_call(t).unwrap().failed(t);
        assert_eq!(b.state(t), BreakerState::Closed);
        b.try_call(t).unwrap().failed(t);
        assert_eq!(b.state(t), BreakerState::Open);
        assert_eq!(b.try_call(t).unwrap_err(), Rejected);
        assert_eq!(
            b.try_call(t + COOL - Duration::from_millis(1)).unwrap_err(),
            Rejected
        );
    }

    /// After the cooldown one trial goes through while others are refused; its success closes it.
    #[test]
    fn a_successful_trial_closes_it() {
        let b = Breaker::new(1, COOL);
        let t = Instant::now();
        b.try_call(t).unwrap().failed(t);
        let later = t + COOL;
        assert_eq!(b.state(later), BreakerState::HalfOpen);
        let trial = b.try_call(later).unwrap();
        assert_eq!(
            b.try_call(later).unwrap_err(),
            Rejected,
            "one trial at a time"
        );
        trial.succeeded();
        assert_eq!(b.state(later), BreakerState::Closed);
        b.try_call(later).unwrap().succeeded();
    }

    /// A failed trial opens it for a whole new cooldown, counted from the failure.
    #[test]
    fn a_failed_trial_opens_it_again() {
        let b = Breaker::new(2, COOL);
        let t = Instant::now();
        b.try_call(t).unwrap().failed(t);
        b.try_call(t).unwrap().failed(t);
        let later = t + COOL + Duration::from_secs(5);
        b.try_call(later).unwrap().failed(later);
        assert_eq!(b.state(later + COOL / 2), BreakerState::Open);
        assert_eq!(b.try_call(later + COOL / 2).unwrap_err(), Rejected);
        assert_eq!(b.state(later + COOL), BreakerState::HalfOpen);
    }

    /// A trial whose caller went away (dropped unreported) counts as failed; a dropped ordinary
    /// call changes nothing.
    #[test]
    fn a_dropped_trial_counts_as_failed() {
        let b = Breaker::new(1, COOL);
        let t = Instant::now();
        drop(b.try_call(t).unwrap());
        assert_eq!(b.state(t), BreakerState::Closed);
        b.try_call(t).unwrap().failed(t);
        let trial = b.try_call(t + COOL).unwrap();
        drop(trial);
        assert_eq!(b.state(t + COOL), BreakerState::Open);
    }

    /// Calls let through while closed that fail after it opened do not extend the cooldown.
    #[test]
    fn late_failures_do_not_extend_the_cooldown() {
        let b = Breaker::new(1, COOL);
        let t = Instant::now();
        let (first, second) = (b.try_call(t).unwrap(), b.try_call(t).unwrap());
        first.failed(t);
        second.failed(t + COOL / 2);
        assert_eq!(b.state(t + COOL), BreakerState::HalfOpen);
    }
}
