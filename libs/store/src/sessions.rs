//! Staff sessions and the sign-in throttle's keys (komek-auth decides what they mean).
//!
//! A session is one hash under [`crate::Keys::session`], found by the SHA-256 of its id; it holds
//! only hashes of refresh secrets, so a copy of Redis signs nobody in. Its TTL is the session's
//! idle or absolute end, whichever comes first, and each refresh moves it.

use komek_domain::staff::User;
use redis::Script;

use crate::commit::{Store, StoreError};

/// A session as stored, without its secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub login: String,
    /// Unix seconds of the sign-in.
    pub created: i64,
    /// Unix seconds of its absolute end.
    pub expires: i64,
}

/// A session's `login`, `created` and `expires` as `HMGET` answers them (all `None`: no session).
type SessionFields = (Option<String>, Option<i64>, Option<i64>);

/// What presenting a refresh secret did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// It was the current secret: the new one replaces it and the session lives on.
    Rotated(SessionRecord),
    /// No such session (ended, expired, or never was).
    Gone,
    /// The secret replaced within the grace period: another request of the same client (a second
    /// tab) refreshed first. Refused, the session kept.
    Raced,
    /// The secret replaced before the grace period: someone replays a used refresh token, so the
    /// session is ended (both holders sign in again).
    Reused,
    /// Not a secret of this session.
    Wrong,
}

/// KEYS[1] the session; ARGV: presented hash, new hash, now, idle secs, grace secs.
const ROTATE_LUA: &str = r"
local s = redis.call('HMGET', KEYS[1], 'login', 'created', 'expires', 'refresh', 'prev', 'rotated')
if not s[1] then return {'gone'} end
local now = tonumber(ARGV[3])
local expires = tonumber(s[3]) or 0
if expires <= now then
  redis.call('DEL', KEYS[1])
  return {'gone'}
end
if s[4] == ARGV[1] then
  redis.call('HSET', KEYS[1], 'refresh', ARGV[2], 'prev', ARGV[1], 'rotated', now)
  redis.call('EXPIRE', KEYS[1], math.min(tonumber(ARGV[4]), expires - now))
  return {'ok', s[1], s[2], s[3]}
end
if s[5] and s[5] == ARGV[1] then
  if now - (tonumber(s[6]) or 0) <= tonumber(ARGV[5]) then return {'raced'} end
  redis.call('DEL', KEYS[1])
  return {'reused'}
end
return {'wrong'}
";

/// What the sign-in throttle knows before checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginGate {
    /// Failed (or still unfinished) sign-ins from the address in this window, this one included.
    pub address_failures: u64,
    /// Seconds the login stays locked out; 0 when it is not.
    pub lock_secs: u64,
    /// Whether the login has signed in from this address lately.
    pub known: bool,
}

impl Store {
    /// Stores a new session with the hash of its first refresh secret, living `ttl_secs`.
    pub async fn open_session(
        &self,
        id_hash: &str,
        session: &SessionRecord,
        refresh_hash: &str,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        let key = self.keys().session(id_hash);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("HSET")
            .arg(&key)
            .arg("login")
            .arg(&session.login)
            .arg("created")
            .arg(session.created)
            .arg("expires")
            .arg(session.expires)
            .arg("refresh")
            .arg(refresh_hash)
            .ignore()
            .cmd("EXPIRE")
            .arg(&key)
            .arg(ttl_secs.max(1))
            .ignore();
        let mut c = self.conn();
        let () = pipe.query_async(&mut c).await?;
        Ok(())
    }

    /// The session `id_hash` and the staff member `login`, read in one round trip (the check every
    /// authenticated call makes).
    pub async fn session_and_user(
        &self,
        id_hash: &str,
        login: &str,
    ) -> Result<(Option<SessionRecord>, Option<User>), StoreError> {
        let user_key = self.keys().user(login);
        let mut pipe = redis::pipe();
        pipe.cmd("HMGET")
            .arg(self.keys().session(id_hash))
            .arg("login")
            .arg("created")
            .arg("expires")
            .cmd("GET")
            .arg(&user_key);
        let mut c = self.conn();
        let ((stored_login, created, expires), user): (SessionFields, Option<String>) =
            pipe.query_async(&mut c).await?;
        let session = match (stored_login, created, expires) {
            (Some(login), Some(created), Some(expires)) => Some(SessionRecord {
                login,
                created,
                expires,
            }),
            _ => None,
        };
        let user = user
            .map(|s| {
                serde_json::from_str(&s).map_err(|source| StoreError::Corrupt {
                    key: user_key.clone(),
                    source,
                })
            })
            .transpose()?;
        Ok((session, user))
    }

    /// Replaces the session's refresh secret `presented` (a hash) by `new` (a hash) if it is the
    /// current one, and keeps the session `idle_secs` more (never past its absolute end); see
    /// [`Rotation`] for the rest. Atomic: of two requests with the same secret, one rotates.
    pub async fn rotate_refresh(
        &self,
        id_hash: &str,
        presented: &str,
        new: &str,
        now: i64,
        idle_secs: u64,
        grace_secs: u64,
    ) -> Result<Rotation, StoreError> {
        let mut c = self.conn();
        let reply: Vec<String> = Script::new(ROTATE_LUA)
            .key(self.keys().session(id_hash))
            .arg(presented)
            .arg(new)
            .arg(now)
            .arg(idle_secs.max(1))
            .arg(grace_secs)
            .invoke_async(&mut c)
            .await?;
        let field = |i: usize| reply.get(i).cloned().unwrap_or_default();
        let number = |i: usize| field(i).parse::<i64>().unwrap_or(0);
        Ok(match field(0).as_str() {
            "ok" => Rotation::Rotated(SessionRecord {
                login: field(1),
                created: number(2),
                expires: number(3),
            }),
            "gone" => Rotation::Gone,
            "raced" => Rotation::Raced,
            "reused" => Rotation::Reused,
            "wrong" => Rotation::Wrong,
            other => return Err(StoreError::Reply(format!("rotate_refresh: {other}"))),
        })
    }

    /// Ends the session `id_hash`; returns whether it was there.
    pub async fn end_session(&self, id_hash: &str) -> Result<bool, StoreError> {
        let mut c = self.conn();
        let n: i64 = redis::cmd("DEL")
            .arg(self.keys().session(id_hash))
            .query_async(&mut c)
            .await?;
        Ok(n > 0)
    }

    /// Before a password check: counts the attempt in the address's fixed-window counter
    /// `address_counter` (as a failure until [`Store::login_succeeded`] takes it back), and reads
    /// the lockout of `login` and whether it knows `address`, in one round trip.
    pub async fn login_attempt(
        &self,
        address_counter: &str,
        window_secs: u64,
        login: &str,
        address: &str,
    ) -> Result<LoginGate, StoreError> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("INCR")
            .arg(address_counter)
            .cmd("EXPIRE")
            .arg(address_counter)
            .arg(window_secs.max(1))
            .ignore()
            .cmd("TTL")
            .arg(self.keys().login_lock(login))
            .cmd("EXISTS")
            .arg(self.keys().login_known(login, address));
        let mut c = self.conn();
        let (address_failures, lock_ttl, known): (u64, i64, bool) =
            pipe.query_async(&mut c).await?;
        Ok(LoginGate {
            address_failures,
            lock_secs: u64::try_from(lock_ttl).unwrap_or(0),
            known,
        })
    }

    /// Takes back an attempt counted by [`Store::login_attempt`] that was not a failure (it
    /// succeeded, or no password was checked because the process was busy).
    pub async fn login_not_failed(&self, address_counter: &str) -> Result<(), StoreError> {
        let mut c = self.conn();
        let _: i64 = redis::cmd("DECR")
            .arg(address_counter)
            .query_async(&mut c)
            .await?;
        Ok(())
    }

    /// A sign-in of `login` from `address` succeeded: the attempt is taken back, the login's
    /// failures and lockout are forgotten, and the address is remembered for `known_secs`.
    pub async fn login_succeeded(
        &self,
        address_counter: &str,
        login: &str,
        address: &str,
        known_secs: u64,
    ) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("DECR")
            .arg(address_counter)
            .ignore()
            .cmd("DEL")
            .arg(self.keys().login_failures(login))
            .arg(self.keys().login_lock(login))
            .ignore()
            .cmd("SET")
            .arg(self.keys().login_known(login, address))
            .arg(1)
            .arg("EX")
            .arg(known_secs.max(1))
            .ignore();
        let mut c = self.conn();
        let () = pipe.query_async(&mut c).await?;
        Ok(())
    }

    /// Counts a failed sign-in of `login` (the counter lives `ttl_secs` from this failure);
    /// returns the failures so far.
    pub async fn login_failed(&self, login: &str, ttl_secs: u64) -> Result<u64, StoreError> {
        let counts = self
            .count_hits(&[self.keys().login_failures(login)], ttl_secs.max(1))
            .await?;
        Ok(counts.first().copied().unwrap_or(0))
    }

    /// Locks `login` out for `secs` from now.
    pub async fn lock_login(&self, login: &str, secs: u64) -> Result<(), StoreError> {
        let mut c = self.conn();
        let () = redis::cmd("SET")
            .arg(self.keys().login_lock(login))
            .arg(1)
            .arg("EX")
            .arg(secs.max(1))
            .query_async(&mut c)
            .await?;
        Ok(())
    }
}
