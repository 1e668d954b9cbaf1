//! Server-side sessions: what a short access token stands for.
//!
//! - A sign-in opens a session (`{p}:session:{sha256(id)}`, komek-store's
//!   [`komek_store::sessions`]) and returns an access token naming it (`sid`) with a refresh
//!   token `{id}.{secret}`; Redis keeps only the SHA-256 of the secret.
//! - `POST /api/v1/auth/refresh` presents the refresh token: the secret is rotated (the old one
//!   stops working) and a new access token is issued, while the session lives. Presenting a
//!   replaced secret again after [`REUSE_GRACE_SECS`] is taken for a stolen token being replayed
//!   and ends the session; within the grace it is a second tab that lost the race, and is only
//!   refused.
//! - The session ends when not refreshed for `auth.session_idle_minutes`, at the latest
//!   `auth.session_max_minutes` after the sign-in (the key's TTL), at sign-out (the key is
//!   deleted), and when the person's sessions cut-off passes it (deactivation, a password reset,
//!   a new role or department).
//! - Every authenticated call checks the session with the person ([`crate::current`]); a live
//!   socket checks it every `auth.live_check_secs` ([`watch`]).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use komek_domain::staff::User;
use komek_store::Store;
use komek_store::sessions::{Rotation, SessionRecord};
use komek_web::ApiError;
use komek_web::live::Watch;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::{ENDED, Tokens};

/// How long a replaced refresh secret is refused without ending its session: two requests of
/// the same client (tabs) refreshing at once.
pub const REUSE_GRACE_SECS: u64 = 30;

/// SHA-256, hex: how session ids and refresh secrets are kept.
pub fn id_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// `bytes` random bytes (the thread's CSPRNG), base64url.
fn random(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::fill(&mut buf[..]);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Whether `session` still stands for `user` as stored now: theirs, not past its end, and not
/// older than their sessions cut-off; and the person is active.
pub fn stands(session: &SessionRecord, user: &User) -> bool {
    session.login == user.login
        && session.expires > now()
        && user.active
        && session.created >= user.sessions_after
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap_or_else(|_| OffsetDateTime::now_utc())
}

fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 4)
}

/// What a sign-in or a refresh gives the client.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The access token and when it expires.
    pub token: String,
    pub expires_at: OffsetDateTime,
    /// The refresh token (`{session id}.{secret}`), good for one refresh, and the latest moment
    /// it can be used (the session's idle end, never after its absolute end).
    pub refresh_token: String,
    pub refresh_expires_at: OffsetDateTime,
    /// When the session ends at the latest, refreshed or not.
    pub session_expires_at: OffsetDateTime,
}

fn issue(
    tokens: &Tokens,
    user: &User,
    sid: &str,
    secret: &str,
    session: &SessionRecord,
) -> Result<Issued, ApiError> {
    let (token, expires_at) = tokens
        .issue(user, sid)
        .map_err(|e| ApiError::internal(&e))?;
    let idle_end = now().saturating_add(secs(tokens.session_idle));
    Ok(Issued {
        token,
        // Never past the session: a token outliving it would be refused anyway.
        expires_at: expires_at.min(at(session.expires)),
        refresh_token: format!("{sid}.{secret}"),
        refresh_expires_at: at(idle_end.min(session.expires)),
        session_expires_at: at(session.expires),
    })
}

/// Opens a session for `user` (who has just proved who they are) and issues its first tokens.
pub async fn open(store: &Store, tokens: &Tokens, user: &User) -> Result<Issued, ApiError> {
    let sid = random(16);
    let secret = random(32);
    // Never before the person's cut-off (rounded up to the next second): a session opened within
    // the second of a password reset, after it, must count as after it.
    let created = now().max(user.sessions_after);
    let session = SessionRecord {
        login: user.login.clone(),
        created,
        expires: now().saturating_add(secs(tokens.session_max)),
    };
    let ttl = tokens.session_idle.min(tokens.session_max).as_secs();
    store
        .open_session(&id_hash(&sid), &session, &id_hash(&secret), ttl)
        .await?;
    issue(tokens, user, &sid, &secret, &session)
}

/// Trades `refresh_token` for new tokens while its session stands; the presented secret stops
/// working. 401 for anything else (see the module's notes on a replayed secret).
pub async fn refresh(
    store: &Store,
    tokens: &Tokens,
    refresh_token: &str,
) -> Result<(Issued, User), ApiError> {
    let refused = ApiError::Unauthorized("the refresh token is invalid, used or expired");
    let Some((sid, secret)) = refresh_token.trim().split_once('.') else {
        return Err(refused);
    };
    if sid.is_empty() || secret.is_empty() || sid.len() > 64 || secret.len() > 128 {
        return Err(refused);
    }
    let sid_hash = id_hash(sid);
    let new_secret = random(32);
    let rotation = store
        .rotate_refresh(
            &sid_hash,
            &id_hash(secret),
            &id_hash(&new_secret),
            now(),
            tokens.session_idle.as_secs(),
            REUSE_GRACE_SECS,
        )
        .await?;
    let session = match rotation {
        Rotation::Rotated(session) => session,
        Rotation::Reused => {
            tracing::warn!(
                "a replaced refresh token was presented again: its session is ended (a stolen token?)"
            );
            return Err(refused);
        }
        Rotation::Raced | Rotation::Gone | Rotation::Wrong => return Err(refused),
    };
    match store.user(&session.login).await? {
        Some(user) if stands(&session, &user) => {
            let issued = issue(tokens, &user, sid, &new_secret, &session)?;
            Ok((issued, user))
        }
        _ => {
            // Deactivated, reset or moved since: the session is over for good.
            store.end_session(&sid_hash).await?;
            Err(ENDED)
        }
    }
}

/// Ends session `sid`; returns whether it was still there.
pub async fn end(store: &Store, sid: &str) -> Result<bool, ApiError> {
    Ok(store.end_session(&id_hash(sid)).await?)
}

/// The check a live socket of `staff` repeats every `auth.live_check_secs`: its session still
/// stands for the person as stored now ([`crate::current`]). A store outage keeps the socket.
pub fn watch(store: &Store, tokens: &Tokens, staff: &crate::Staff) -> Watch {
    let (store, claims) = (store.clone(), staff.0.clone());
    Watch {
        every: tokens.live_check,
        still_valid: std::sync::Arc::new(move || {
            let (store, claims) = (store.clone(), claims.clone());
            Box::pin(async move {
                match crate::current(&store, &claims).await {
                    Ok(_) => true,
                    Err(ApiError::Unauthorized(_)) => false,
                    Err(e) => {
                        tracing::warn!(error = %e, "live session check failed; the socket stays open");
                        true
                    }
                }
            })
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_secrets_are_random_and_kept_hashed() {
        let (a, b) = (random(16), random(16));
        assert_ne!(a, b);
        assert_eq!(a.len(), 22, "128 bits, base64url without padding");
        assert!(
            !a.contains('.'),
            "the refresh token splits on its first dot"
        );
        assert_eq!(id_hash("abc").len(), 64);
        assert_ne!(id_hash(&a), a);
    }
}
