//! The sign-in throttle (`auth.login_*`, `auth.hash_*`; docs/security.md, "5. Login").
//!
//! - **Per client address, strict**: every attempt is counted in the address's fixed window
//!   (`{p}:rl:login:addr:{address}:{window}`) before its password is checked, and taken back when
//!   it succeeds; over `login_per_address` failures the address gets 429 until the window ends.
//!   Counting first bounds a burst of concurrent attempts too.
//! - **Per login, looser, with back-off**: after `login_free_failures` failures (forgotten after
//!   a quiet window), the login is locked out for `login_backoff_secs`, doubled with each further
//!   failure up to `login_max_lockout_secs`. The lockout does not hold an address the login has
//!   signed in from within `login_known_days`: someone hammering a known login from elsewhere
//!   cannot keep its owner out (the classic denial of service of per-account lockout), while a
//!   spread-out guesser gets a handful of tries per lockout. A failure from a known address still
//!   counts, and that address stays bound by its own strict limit.
//! - **Password checks at once**: argon2 (about 19 MiB and tens of milliseconds each) runs on at
//!   most `hash_concurrency` blocking threads per process; a sign-in waits `hash_wait_ms` for one
//!   and is then answered 429 with `Retry-After: 1`, instead of queueing without bound.

use std::net::IpAddr;
use std::time::Duration;

use komek_settings::LoginLimits;
use komek_store::Store;
use komek_web::ApiError;
use time::OffsetDateTime;
use tokio::sync::{Semaphore, SemaphorePermit};

/// The throttle's settings and this process's password-check permits (app data, made once).
pub struct Throttle {
    limits: LoginLimits,
    /// `web.trust_forwarded_for`: where the client address is read.
    trust_forwarded_for: bool,
    checks: Semaphore,
}

/// One sign-in attempt let through to its password check.
pub struct Attempt<'a> {
    throttle: &'a Throttle,
    /// The address's counter this attempt was counted in.
    counter: String,
    address: String,
    /// The login as typed, when it can be a login at all (a key part); `None`: no per-login
    /// bookkeeping (no such account can exist).
    login: Option<String>,
}

fn now() -> u64 {
    u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0)
}

impl Throttle {
    pub fn new(limits: LoginLimits, trust_forwarded_for: bool) -> Self {
        Self {
            checks: Semaphore::new(limits.hash_concurrency.max(1)),
            limits,
            trust_forwarded_for,
        }
    }

    /// Counts an attempt of `login` by the client of `req`; 429 (with the seconds to wait) when
    /// the address is over its limit, or the login is locked out and the address is not one it
    /// signed in from.
    pub async fn attempt<'a>(
        &'a self,
        store: &Store,
        req: &actix_web::HttpRequest,
        login: &str,
    ) -> Result<Attempt<'a>, ApiError> {
        let address = komek_web::client::client_address(req, self.trust_forwarded_for)
            .map_or_else(|| "unknown".to_owned(), address_key);
        let window = self.limits.window.as_secs().max(1);
        let now = now();
        let counter = store
            .keys()
            .rate_limit("login", "addr", &address, now / window);
        let login = crate::staff::check_login(login)
            .is_ok()
            .then(|| login.to_owned());
        // A login that cannot exist has no lock; its key is never read.
        let gate = store
            .login_attempt(&counter, window, login.as_deref().unwrap_or("-"), &address)
            .await?;
        if gate.address_failures > self.limits.per_address {
            tracing::warn!(%address, "sign-in failures from this address over the limit; refused");
            return Err(ApiError::RateLimited {
                retry_after_secs: window - now % window,
            });
        }
        if login.is_some() && gate.lock_secs > 0 && !gate.known {
            tracing::warn!(login = ?login, %address, "login locked out after failed sign-ins; refused");
            return Err(ApiError::RateLimited {
                retry_after_secs: gate.lock_secs,
            });
        }
        Ok(Attempt {
            throttle: self,
            counter,
            address,
            login,
        })
    }

    /// How long `login` is locked out after its `failures`-th failure: nothing up to the free
    /// ones, then the back-off doubled per further failure, at most the longest lockout.
    pub fn lockout(limits: &LoginLimits, failures: u64) -> Option<Duration> {
        let doublings = failures
            .checked_sub(limits.free_failures)?
            .checked_sub(1)?
            .min(32);
        let secs = limits
            .backoff
            .as_secs()
            .saturating_mul(1u64 << doublings)
            .min(limits.max_lockout.as_secs());
        Some(Duration::from_secs(secs))
    }

    /// A password-check permit, or `None` after waiting `hash_wait_ms` for one.
    async fn check_permit(&self) -> Option<SemaphorePermit<'_>> {
        tokio::time::timeout(self.limits.hash_wait, self.checks.acquire())
            .await
            .ok()?
            .ok()
    }
}

/// The address an address counter and the known addresses are kept under (IPv6 by its /64).
fn address_key(ip: IpAddr) -> String {
    komek_web::client::address_key(ip)
}

impl Attempt<'_> {
    /// A permit to check a password, waiting at most `hash_wait_ms`; 429 with `Retry-After: 1`
    /// when every permit stays taken (the attempt is then not counted as a failure).
    pub async fn permit(&self, store: &Store) -> Result<SemaphorePermit<'_>, ApiError> {
        match self.throttle.check_permit().await {
            Some(permit) => Ok(permit),
            None => {
                tracing::warn!("every password check of this process is busy; sign-in refused");
                store.login_not_failed(&self.counter).await?;
                Err(ApiError::RateLimited {
                    retry_after_secs: 1,
                })
            }
        }
    }

    /// The password was right: the attempt is not a failure, the login's failures are forgotten
    /// and this address is remembered as the login's.
    pub async fn succeeded(self, store: &Store) -> Result<(), ApiError> {
        let limits = &self.throttle.limits;
        match &self.login {
            Some(login) => {
                store
                    .login_succeeded(
                        &self.counter,
                        login,
                        &self.address,
                        limits.known_for.as_secs(),
                    )
                    .await?
            }
            None => store.login_not_failed(&self.counter).await?,
        }
        Ok(())
    }

    /// The password (or the login) was wrong: the failure stays counted for the address, and
    /// counts for the login, which may now be locked out.
    pub async fn failed(self, store: &Store) -> Result<(), ApiError> {
        let Some(login) = &self.login else {
            return Ok(());
        };
        let limits = &self.throttle.limits;
        let forget_after = limits.window.as_secs() + limits.max_lockout.as_secs();
        let failures = store.login_failed(login, forget_after).await?;
        if let Some(lock) = Throttle::lockout(limits, failures) {
            tracing::warn!(
                login,
                failures,
                lock_secs = lock.as_secs(),
                "login locked out"
            );
            store.lock_login(login, lock.as_secs()).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> LoginLimits {
        LoginLimits {
            window: Duration::from_secs(900),
            per_address: 30,
            free_failures: 5,
            backoff: Duration::from_secs(30),
            max_lockout: Duration::from_secs(900),
            known_for: Duration::from_secs(86_400),
            hash_concurrency: 1,
            hash_wait: Duration::from_millis(10),
        }
    }

    #[test]
    fn the_lockout_doubles_after_the_free_failures_up_to_the_longest() {
        let l = limits();
        let secs = |n| Throttle::lockout(&l, n).map(|d| d.as_secs());
        assert_eq!(secs(0), None);
        assert_eq!(secs(5), None);
        assert_eq!(secs(6), Some(30));
        assert_eq!(secs(7), Some(60));
        assert_eq!(secs(8), Some(120));
        assert_eq!(secs(11), Some(900));
        assert_eq!(secs(u64::MAX), Some(900));
    }

    /// With every permit taken, a sign-in is refused after the short wait instead of queueing.
    #[tokio::test]
    async fn password_checks_are_bounded() {
        let t = Throttle::new(limits(), false);
        let held = t.check_permit().await.unwrap();
        let started = std::time::Instant::now();
        assert!(t.check_permit().await.is_none(), "no second check at once");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "refused quickly"
        );
        drop(held);
        assert!(t.check_permit().await.is_some());
    }
}
