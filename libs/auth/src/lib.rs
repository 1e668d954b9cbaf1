//! Who is calling, and what they may do.
//!
//! - [`hash_password`] / [`verify_password`]: argon2id PHC strings.
//! - [`Tokens`]: issues and verifies the HS256-signed token that the sign-in returns and
//!   every service accepts (`Authorization: Bearer ...`).
//! - [`Staff`]: the actix extractor for a verified caller, with role guards.
//! - [`login`]: the sign-in handler (`POST /api/v1/auth/login`) the workspace and the escalation
//!   service both mount.
//! - [`gate`]: [`gate::TokenGate`], the token check `komek_web::access` asks for every route
//!   whose class needs a signed-in caller.

pub mod gate;
pub mod login;
pub mod staff;

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

/// What a token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub name: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dept: Option<String>,
    pub iat: i64,
    pub exp: i64,
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
        }
    }

    /// A signed token for `user` and its expiry.
    pub fn issue(
        &self,
        user: &User,
    ) -> Result<(String, OffsetDateTime), jsonwebtoken::errors::Error> {
        let now = OffsetDateTime::now_utc();
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

/// Checks `claims` against the user as stored now (one Redis read): a deactivated person, or a
/// token from before their sessions cut-off, is 401. A login that is not stored passes: accounts
/// are deactivated, never deleted, and handlers that act on the caller re-read them anyway.
pub async fn check_current(store: &komek_store::Store, claims: &Claims) -> Result<(), ApiError> {
    match store.user(&claims.sub).await? {
        Some(user) if !still_valid(&user, claims) => Err(ApiError::Unauthorized(
            "this session has ended: sign in again",
        )),
        _ => Ok(()),
    }
}

/// A verified staff member. Handlers ask for it and then for the role they need.
#[derive(Debug, Clone)]
pub struct Staff(pub Claims);

impl Staff {
    pub fn login(&self) -> &str {
        &self.0.sub
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

    /// The signature and expiry, then the person as stored now ([`check_current`]), so a
    /// deactivation or a password reset ends a session on its next request, on every replica.
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
            check_current(&store, &claims).await?;
            Ok(Staff(claims))
        })
    }
}

impl Staff {
    /// The verified claims of the request's bearer token.
    fn claims(req: &HttpRequest) -> Result<Claims, ApiError> {
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
        let (token, _) = t.issue(&user).unwrap();
        let claims = t.verify(&token).unwrap();
        assert_eq!(claims.dept.as_deref(), Some("billing"));
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
        let (old_token, _) = before.issue(&someone()).unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&old_token)
                .unwrap()
                .kid
                .as_deref(),
            Some("k1")
        );

        let during = Tokens::new(&auth("k2", new_secret, &[("k1", old_secret)]));
        assert_eq!(during.verify(&old_token).unwrap().sub, "agent1");
        let (new_token, _) = during.issue(&someone()).unwrap();
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
        let (forged_token, _) = forged.issue(&someone()).unwrap();
        assert!(after.verify(&forged_token).is_none());
    }

    /// A cut-off refuses every token issued before it and none issued after, even within the
    /// same second; a deactivated person's tokens are all refused.
    #[test]
    fn a_cut_off_ends_older_tokens_only() {
        let t = Tokens::new(&auth("k1", "0123456789abcdef0123456789abcdef", &[]));
        let mut user = someone();
        let old = t.verify(&t.issue(&user).unwrap().0).unwrap();
        user.sessions_after = sessions_cut_off();
        assert!(!still_valid(&user, &old));
        let new = t.verify(&t.issue(&user).unwrap().0).unwrap();
        assert!(still_valid(&user, &new));
        user.active = false;
        assert!(!still_valid(&user, &new));
    }
}
