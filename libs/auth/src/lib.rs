//! Who is calling, and what they may do.
//!
//! - [`hash_password`] / [`verify_password`]: argon2id PHC strings.
//! - [`Tokens`]: issues and verifies the short HS256-signed access token that the sign-in and
//!   the refresh return and every service accepts (`Authorization: Bearer ...`); it names its
//!   server-side session (`sid`).
//! - [`sessions`]: the server-side session behind every token (Redis, `{p}:session:{sha256(id)}`):
//!   opened at sign-in, kept alive by the rotating refresh token, ended by sign-out, expiry,
//!   deactivation or a password reset; and the check of a live socket.
//! - [`Staff`]: the actix extractor for a verified caller, with role guards: the token's
//!   signature and expiry, then its session and the person as stored now, read in one round trip
//!   ([`current`]); the role and department are the stored ones.
//! - [`throttle`]: the sign-in throttle: failures per client address and per login (with a
//!   growing lockout that spares addresses the login signed in from), and the bound on password
//!   checks running at once.
//! - [`login`]: the handlers of `/api/v1/auth/*`: `login` and `refresh` (the workspace and the
//!   escalation service), `logout` and `session` (every service), and their app data.
//! - [`staff`]: staff administration shared by the workspace's admin API and `komek-admin`.
//! - [`gate`]: [`gate::TokenGate`], the token check `komek_web::access` asks for every route
//!   whose class needs a signed-in caller (the same check as [`Staff`]'s).

pub mod gate;
pub mod login;
pub mod sessions;
pub mod staff;
pub mod throttle;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use komek_domain::staff::{Role, User};
use komek_web::ApiError;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// argon2id with the crate's default parameters and a random salt.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    Ok(argon2::Argon2::default()
        .hash_password(password.as_bytes())?
        .to_string())
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    argon2::Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// What a token says about its bearer. The role and department are what they were at issue;
/// [`Staff`] replaces them with the stored ones, so a change counts at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub name: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dept: Option<String>,
    pub iat: i64,
    pub exp: i64,
    /// The server-side session the token belongs to ([`sessions`]); a token without one (issued
    /// before sessions existed) is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// Signs with the current key and verifies with whichever key a token names: the current one or
/// a previous one still accepted during a rotation (`auth.jwt_key_id`, `auth.jwt_previous`).
#[derive(Clone)]
pub struct Tokens {
    key_id: String,
    encoding: EncodingKey,
    /// Every accepted key by id, the current one first.
    decoding: Vec<(String, DecodingKey)>,
    ttl: std::time::Duration,
    /// How sessions live: `auth.session_idle_minutes`, `auth.session_max_minutes`,
    /// `auth.live_check_secs`.
    pub(crate) session_idle: std::time::Duration,
    pub(crate) session_max: std::time::Duration,
    pub(crate) live_check: std::time::Duration,
}

impl Tokens {
    pub fn new(settings: &komek_settings::AuthSettings) -> Self {
        let secret = settings.jwt_secret.expose_secret().as_bytes();
        let mut decoding = vec![(settings.key_id.clone(), DecodingKey::from_secret(secret))];
        decoding.extend(settings.previous.iter().map(|(id, s)| {
            (
                id.clone(),
                DecodingKey::from_secret(s.expose_secret().as_bytes()),
            )
        }));
        Self {
            key_id: settings.key_id.clone(),
            encoding: EncodingKey::from_secret(secret),
            decoding,
            ttl: settings.token_ttl,
            session_idle: settings.session_idle,
            session_max: settings.session_max,
            live_check: settings.live_check,
        }
    }

    /// A signed access token of session `sid` for `user`, and its expiry.
    pub fn issue(
        &self,
        user: &User,
        sid: &str,
    ) -> Result<(String, OffsetDateTime), jsonwebtoken::errors::Error> {
        self.issue_at(user, sid, OffsetDateTime::now_utc())
    }

    /// [`Tokens::issue`] as if it were `now` (tests make tokens that have expired).
    pub fn issue_at(
        &self,
        user: &User,
        sid: &str,
        now: OffsetDateTime,
    ) -> Result<(String, OffsetDateTime), jsonwebtoken::errors::Error> {
        let exp = now + self.ttl;
        let claims = Claims {
            sub: user.login.clone(),
            name: user.name.clone(),
            role: user.role,
            dept: user.department.clone(),
            // A cut-off is rounded up to the next second ([`sessions_cut_off`]): a token issued
            // within that second, after the cut-off, must still count as after it.
            iat: now.unix_timestamp().max(user.sessions_after),
            exp: exp.unix_timestamp(),
            sid: Some(sid.to_owned()),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.key_id.clone());
        Ok((jsonwebtoken::encode(&header, &claims, &self.encoding)?, exp))
    }

    /// The claims of a valid token. A token without a `kid` (signed before key ids existed) is
    /// checked against the current key only; an unknown `kid` is refused.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        let key = match header.kid.as_deref() {
            None => self.decoding.first().map(|(_, k)| k),
            Some(kid) => self
                .decoding
                .iter()
                .find(|(id, _)| id == kid)
                .map(|(_, k)| k),
        }?;
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 5;
        jsonwebtoken::decode::<Claims>(token, key, &v)
            .ok()
            .map(|d| d.claims)
    }
}

/// The sessions cut-off to store when ending every session of someone now (deactivation, a new
/// password): the next whole second, since token times are whole seconds; every token issued
/// until now is older, and [`Tokens::issue`] never dates a new one before it.
pub fn sessions_cut_off() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp() + 1
}

/// Whether a token with `claims` still stands for `user` as stored now: the person is active and
/// the token is not older than their sessions cut-off.
pub fn still_valid(user: &User, claims: &Claims) -> bool {
    user.active && claims.iat >= user.sessions_after
}

/// The 401 of a token whose session has ended (or never was).
pub(crate) const ENDED: ApiError = ApiError::Unauthorized("this session has ended: sign in again");

/// The person behind `claims` as stored now, if the token's session still stands: the session
/// exists (not signed out, not expired) and belongs to them, the person is active, and neither
/// the session nor the token is older than their sessions cut-off (deactivation, a password
/// reset, a new role). Session and person are read in one round trip. Otherwise 401.
pub async fn current(store: &komek_store::Store, claims: &Claims) -> Result<User, ApiError> {
    current_session(store, claims).await.map(|(user, _)| user)
}

/// [`current`], with the session as stored.
pub async fn current_session(
    store: &komek_store::Store,
    claims: &Claims,
) -> Result<(User, komek_store::sessions::SessionRecord), ApiError> {
    let Some(sid) = claims.sid.as_deref() else {
        return Err(ENDED);
    };
    let (session, user) = store
        .session_and_user(&sessions::id_hash(sid), &claims.sub)
        .await?;
    match (session, user) {
        (Some(session), Some(user))
            if sessions::stands(&session, &user) && still_valid(&user, claims) =>
        {
            Ok((user, session))
        }
        _ => Err(ENDED),
    }
}

/// [`current`], for callers that need only the verdict.
pub async fn check_current(store: &komek_store::Store, claims: &Claims) -> Result<(), ApiError> {
    current(store, claims).await.map(|_| ())
}

/// The verified caller of `token`: its signature and expiry ([`Tokens::verify`]), then its
/// session and the person as stored now ([`current`]), with the stored role and department.
pub async fn authenticate(
    store: &komek_store::Store,
    tokens: &Tokens,
    token: &str,
) -> Result<Staff, ApiError> {
    let claims = tokens
        .verify(token.trim())
        .ok_or(ApiError::Unauthorized("the token is invalid or expired"))?;
    let user = current(store, &claims).await?;
    Ok(Staff::stored(claims, &user))
}

/// A verified staff member. Handlers ask for it and then for the role they need.
#[derive(Debug, Clone)]
pub struct Staff(pub Claims);

impl Staff {
    /// The caller of `claims` as `user` is stored now: the role, department and name are the
    /// stored ones (a demotion counts on the next request, whatever the token says).
    pub fn stored(claims: Claims, user: &User) -> Self {
        Staff(Claims {
            name: user.name.clone(),
            role: user.role,
            dept: user.department.clone(),
            ..claims
        })
    }

    pub fn login(&self) -> &str {
        &self.0.sub
    }

    /// The id of the caller's session (every admitted token has one).
    pub fn session_id(&self) -> Option<&str> {
        self.0.sid.as_deref()
    }

    /// Agents and supervisors work requests.
    pub fn require_agent(&self) -> Result<&Self, ApiError> {
        match self.0.role {
            Role::Agent | Role::Supervisor => Ok(self),
            Role::DepartmentStaff => Err(ApiError::Forbidden("this needs an agent or supervisor")),
        }
    }

    /// Supervisors manage what agents share, such as reply templates.
    pub fn require_supervisor(&self) -> Result<&Self, ApiError> {
        match self.0.role {
            Role::Supervisor => Ok(self),
            Role::Agent | Role::DepartmentStaff => {
                Err(ApiError::Forbidden("this needs a supervisor"))
            }
        }
    }

    /// Department staff act for their own department only; returns its code.
    pub fn require_department(&self) -> Result<&str, ApiError> {
        match (&self.0.role, &self.0.dept) {
            (Role::DepartmentStaff, Some(d)) => Ok(d),
            _ => Err(ApiError::Forbidden("this needs department staff")),
        }
    }
}

impl FromRequest for Staff {
    type Error = ApiError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, ApiError>>>>;

    /// The signature and expiry, then the session and the person as stored now ([`current`]),
    /// so a sign-out, a deactivation or a password reset ends access on the next request, on
    /// every replica of every service.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // The access gate verified this request already (`gate::TokenGate`).
        if let Some(staff) = actix_web::HttpMessage::extensions(req)
            .get::<Staff>()
            .cloned()
        {
            return Box::pin(async move { Ok(staff) });
        }
        let claims = Self::claims(req);
        let store = req.app_data::<web::Data<komek_store::Store>>().cloned();
        Box::pin(async move {
            let claims = claims?;
            let Some(store) = store else {
                tracing::error!("the Store is not registered as app data");
                return Err(ApiError::Internal);
            };
            let user = current(&store, &claims).await?;
            Ok(Staff::stored(claims, &user))
        })
    }
}

impl Staff {
    /// The verified claims of the request's bearer token.
    pub(crate) fn claims(req: &HttpRequest) -> Result<Claims, ApiError> {
        let Some(tokens) = req.app_data::<web::Data<Tokens>>() else {
            tracing::error!("Tokens are not registered as app data");
            return Err(ApiError::Internal);
        };
        let token = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match token {
            None => Err(ApiError::Unauthorized(
                "send Authorization: Bearer <token> from /api/v1/auth/login",
            )),
            Some(t) => tokens
                .verify(t.trim())
                .ok_or(ApiError::Unauthorized("the token is invalid or expired")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip() {
        let h = hash_password("komek-agent").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("komek-agent", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("komek-agent", "not a hash"));
    }

    #[test]
    fn token_round_trip_and_tamper() {
        let s = auth("k1", "0123456789abcdef0123456789abcdef", &[]);
        let t = Tokens::new(&s);
        let user = User {
            login: "billing1".into(),
            name: "B".into(),
            role: Role::DepartmentStaff,
            department: Some("billing".into()),
            languages: vec![],
            categories: vec![],
            capacity: 0,
            level: 1,
            password_hash: String::new(),
            active: true,
            sessions_after: 0,
        };
        let (token, _) = t.issue(&user, "s1").unwrap();
        let claims = t.verify(&token).unwrap();
        assert_eq!(claims.dept.as_deref(), Some("billing"));
        assert_eq!(claims.sid.as_deref(), Some("s1"));
        let mut bad = token.clone();
        bad.pop();
        assert!(t.verify(&bad).is_none());
        let other = Tokens::new(&auth("k1", "another-secret-another-secret-000", &[]));
        assert!(other.verify(&token).is_none());
    }

    fn auth(id: &str, secret: &str, previous: &[(&str, &str)]) -> komek_settings::AuthSettings {
        komek_settings::AuthSettings {
            key_id: id.into(),
            jwt_secret: secret.to_owned().into(),
            previous: previous
                .iter()
                .map(|(i, s)| ((*i).to_owned(), (*s).to_owned().into()))
                .collect(),
            token_ttl: std::time::Duration::from_secs(5 * 60),
            session_idle: std::time::Duration::from_secs(60 * 60),
            session_max: std::time::Duration::from_secs(12 * 60 * 60),
            live_check: std::time::Duration::from_secs(30),
            login: komek_settings::LoginLimits {
                window: std::time::Duration::from_secs(900),
                per_address: 30,
                free_failures: 5,
                backoff: std::time::Duration::from_secs(30),
                max_lockout: std::time::Duration::from_secs(900),
                known_for: std::time::Duration::from_secs(30 * 86_400),
                hash_concurrency: 4,
                hash_wait: std::time::Duration::from_secs(1),
            },
        }
    }

    fn someone() -> User {
        User {
            login: "agent1".into(),
            name: "A".into(),
            role: Role::Agent,
            department: None,
            languages: vec![],
            categories: vec![],
            capacity: 1,
            level: 1,
            password_hash: String::new(),
            active: true,
            sessions_after: 0,
        }
    }

    /// A rotation: tokens signed with the old key stay valid while it is listed as previous, new
    /// ones carry the new id, and once the old key is retired its tokens are refused.
    #[test]
    fn rotation_keeps_sessions_until_the_old_key_is_retired() {
        let old_secret = "old-secret-old-secret-old-secret-0";
        let new_secret = "new-secret-new-secret-new-secret-0";
        let before = Tokens::new(&auth("k1", old_secret, &[]));
        let (old_token, _) = before.issue(&someone(), "s1").unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&old_token)
                .unwrap()
                .kid
                .as_deref(),
            Some("k1")
        );

        let during = Tokens::new(&auth("k2", new_secret, &[("k1", old_secret)]));
        assert_eq!(during.verify(&old_token).unwrap().sub, "agent1");
        let (new_token, _) = during.issue(&someone(), "s1").unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&new_token)
                .unwrap()
                .kid
                .as_deref(),
            Some("k2")
        );
        assert!(before.verify(&new_token).is_none(), "k2 unknown before");

        let after = Tokens::new(&auth("k2", new_secret, &[]));
        assert!(after.verify(&old_token).is_none(), "k1 retired");
        assert!(after.verify(&new_token).is_some());

        // A token naming the current id but signed with another secret is refused.
        let forged = Tokens::new(&auth("k2", old_secret, &[]));
        let (forged_token, _) = forged.issue(&someone(), "s1").unwrap();
        assert!(after.verify(&forged_token).is_none());
    }

    /// A cut-off refuses every token issued before it and none issued after, even within the
    /// same second; a deactivated person's tokens are all refused.
    #[test]
    fn a_cut_off_ends_older_tokens_only() {
        let t = Tokens::new(&auth("k1", "0123456789abcdef0123456789abcdef", &[]));
        let mut user = someone();
        let old = t.verify(&t.issue(&user, "s1").unwrap().0).unwrap();
        user.sessions_after = sessions_cut_off();
        assert!(!still_valid(&user, &old));
        let new = t.verify(&t.issue(&user, "s1").unwrap().0).unwrap();
        assert!(still_valid(&user, &new));
        user.active = false;
        assert!(!still_valid(&user, &new));
    }
}
