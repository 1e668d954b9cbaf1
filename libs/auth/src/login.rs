//! Staff sign-in, `POST /api/v1/auth/login`: one handler that the workspace and the escalation
//! service both mount, so a token from either works on every service.
//!
//! The service registers `web::Data<Store>`, `web::Data<Tokens>` and `web::Data<DummyHash>`
//! ([`DummyHash::new`]) as app data, all three made by [`SignIn`].

use actix_web::{HttpResponse, web};
use komek_domain::staff::UserView;
use komek_store::Store;
use komek_web::{ApiError, StrictJson};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Tokens, hash_password, verify_password};

/// A hash checked when the login is unknown, so both failures take the same time.
pub struct DummyHash(pub String);

impl DummyHash {
    /// A fresh hash of a password nobody has (argon2: slow, so made once at startup).
    pub fn new() -> Self {
        Self(hash_password("no user has this password").unwrap_or_default())
    }
}

impl Default for DummyHash {
    fn default() -> Self {
        Self::new()
    }
}

/// The app data the sign-in handler and the [`crate::Staff`] extractor read: the store, the
/// token keys and the dummy hash, made once at start-up; each staff service registers it with
/// [`SignIn::register`].
#[derive(Clone)]
pub struct SignIn {
    store: web::Data<Store>,
    tokens: web::Data<Tokens>,
    dummy: web::Data<DummyHash>,
}

impl SignIn {
    pub fn new(store: Store, auth: &komek_settings::AuthSettings) -> Self {
        Self {
            store: web::Data::new(store),
            tokens: web::Data::new(Tokens::new(auth)),
            dummy: web::Data::new(DummyHash::new()),
        }
    }

    /// The app data, and the token check of the access gate ([`crate::gate::TokenGate`]).
    pub fn register(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(self.store.clone())
            .app_data(self.tokens.clone())
            .app_data(self.dummy.clone())
            .app_data(komek_web::access::gate_data(crate::gate::TokenGate));
    }
}

/// The access rule of the sign-in: anonymous, of course; throttled in the handler.
pub fn rules() -> Vec<komek_web::access::Rule> {
    vec![komek_web::access::rule(
        actix_web::http::Method::POST,
        "/api/v1/auth/login",
        komek_web::access::Access::Anonymous,
    )]
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub login: String,
    pub password: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LoginOk {
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: time::OffsetDateTime,
    pub user: UserView,
}

/// Sign in; the token works on every Komek service.
#[utoipa::path(post, path = "/api/v1/auth/login", request_body = Login,
    responses((status = 200, body = LoginOk), (status = 401, body = komek_web::error::Problem)))]
pub async fn login(
    store: web::Data<Store>,
    tokens: web::Data<Tokens>,
    dummy: web::Data<DummyHash>,
    StrictJson(body): StrictJson<Login>,
) -> Result<HttpResponse, ApiError> {
    let denied = ApiError::Unauthorized("wrong login or password");
    if body.login.len() > 100 || body.password.len() > 200 {
        return Err(denied);
    }
    let user = store.user(body.login.trim()).await?;
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.as_str())
        .unwrap_or(&dummy.0);
    let password = body.password.clone();
    let hash_owned = hash.to_owned();
    // argon2 is deliberately slow: keep it off the async workers.
    let ok = web::block(move || verify_password(&password, &hash_owned))
        .await
        .unwrap_or(false);
    // A deactivated person gets the same answer as a wrong password: nothing to probe.
    let Some(user) = user.filter(|u| ok && u.active) else {
        tracing::info!(login = %body.login, "sign-in refused");
        return Err(denied);
    };
    let (token, expires_at) = tokens.issue(&user).map_err(|e| ApiError::internal(&e))?;
    tracing::info!(login = %user.login, "signed in");
    Ok(HttpResponse::Ok().json(LoginOk {
        token,
        expires_at,
        user: UserView::from(&user),
    }))
}
