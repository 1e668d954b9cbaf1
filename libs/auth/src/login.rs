//! Staff sign-in and sessions, `/api/v1/auth/*`: handlers every staff-facing service mounts, so
//! a token from one works on every service and a sign-out ends it on all of them.
//!
//! - `POST /api/v1/auth/login` (workspace, escalation): throttled ([`crate::throttle`]); opens a
//!   session and returns a short access token and a refresh token.
//! - `POST /api/v1/auth/refresh` (workspace, escalation): a new access token (and refresh token)
//!   while the session lives ([`crate::sessions::refresh`]).
//! - `POST /api/v1/auth/logout` (all four services): ends the caller's session; 204.
//! - `GET /api/v1/auth/session` (all four services): who the token stands for now.
//!
//! The service registers the app data these read with [`SignIn::register`] (the sign-in
//! services) or [`SignIn::register_session`] (the others).

use actix_web::{HttpRequest, HttpResponse, web};
use komek_domain::staff::UserView;
use komek_store::Store;
use komek_web::{ApiError, StrictJson};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::sessions::{self, Issued};
use crate::throttle::Throttle;
use crate::{Staff, Tokens, hash_password, verify_password};

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

/// The app data the handlers and the [`crate::Staff`] extractor read: the store, the token keys,
/// the dummy hash and the throttle, made once at start-up.
#[derive(Clone)]
pub struct SignIn {
    store: web::Data<Store>,
    tokens: web::Data<Tokens>,
    dummy: web::Data<DummyHash>,
    throttle: web::Data<Throttle>,
}

impl SignIn {
    pub fn new(store: Store, settings: &komek_settings::Settings) -> Self {
        Self {
            store: web::Data::new(store),
            tokens: web::Data::new(Tokens::new(&settings.auth)),
            dummy: web::Data::new(DummyHash::new()),
            throttle: web::Data::new(Throttle::new(
                settings.auth.login.clone(),
                settings.web.trust_forwarded_for,
            )),
        }
    }

    /// The app data the handlers read, and the token check of the access gate
    /// ([`crate::gate::TokenGate`]).
    pub fn register(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(self.store.clone())
            .app_data(self.tokens.clone())
            .app_data(self.dummy.clone())
            .app_data(self.throttle.clone())
            .app_data(komek_web::access::gate_data(crate::gate::TokenGate));
    }
}

/// The sign-in routes and the session routes (the workspace and the escalation service).
pub fn configure_sign_in(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/auth/login", web::post().to(login))
        .route("/api/v1/auth/refresh", web::post().to(refresh));
    configure_session(cfg);
}

/// The session routes every service mounts: sign-out and the caller's session.
pub fn configure_session(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/auth/logout", web::post().to(logout))
        .route("/api/v1/auth/session", web::get().to(session));
}

/// The access rules of [`configure_sign_in`]'s routes: the sign-in and the refresh are
/// anonymous (throttled in the handler; a refresh needs its secret), sign-out and the session
/// any signed-in staff member.
pub fn rules() -> Vec<komek_web::access::Rule> {
    use komek_web::access::{Access, rule};
    let mut v = vec![
        rule(
            actix_web::http::Method::POST,
            "/api/v1/auth/login",
            Access::Anonymous,
        ),
        rule(
            actix_web::http::Method::POST,
            "/api/v1/auth/refresh",
            Access::Anonymous,
        ),
    ];
    v.extend(session_rules());
    v
}

/// The access rules of [`configure_session`]'s routes: any signed-in staff member.
pub fn session_rules() -> Vec<komek_web::access::Rule> {
    use komek_web::access::{Access, rule};
    vec![
        rule(
            actix_web::http::Method::POST,
            "/api/v1/auth/logout",
            Access::Staff,
        ),
        rule(
            actix_web::http::Method::GET,
            "/api/v1/auth/session",
            Access::Staff,
        ),
    ]
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    #[schema(max_length = 100)]
    pub login: String,
    #[schema(max_length = 200)]
    pub password: String,
}

/// A session's tokens. `token` goes in `Authorization: Bearer ...` until `expires_at` (15 minutes
/// by default); before then, `POST /api/v1/auth/refresh` with `refresh_token` gives the next pair.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LoginOk {
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: time::OffsetDateTime,
    pub user: UserView,
    /// Good for one refresh; each refresh returns the next one.
    pub refresh_token: String,
    /// The last moment `refresh_token` can be used (the session ends when not refreshed by then).
    #[serde(with = "time::serde::rfc3339")]
    pub refresh_expires_at: time::OffsetDateTime,
    /// When the session ends at the latest; then the person signs in again.
    #[serde(with = "time::serde::rfc3339")]
    pub session_expires_at: time::OffsetDateTime,
}

impl LoginOk {
    fn new(issued: Issued, user: UserView) -> Self {
        Self {
            token: issued.token,
            expires_at: issued.expires_at,
            user,
            refresh_token: issued.refresh_token,
            refresh_expires_at: issued.refresh_expires_at,
            session_expires_at: issued.session_expires_at,
        }
    }
}

/// Sign in; the token works on every Komek service. Failed sign-ins are throttled per client
/// address and per login: 429 with `Retry-After`.
#[utoipa::path(post, path = "/api/v1/auth/login", request_body = Login,
    responses((status = 200, body = LoginOk),
        (status = 400, body = komek_web::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = komek_web::error::Problem, content_type = "application/problem+json"),
        (status = 413, body = komek_web::error::Problem, content_type = "application/problem+json"),
        (status = 415, body = komek_web::error::Problem, content_type = "application/problem+json"),
        (status = 429, body = komek_web::error::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, body = komek_web::error::Problem, content_type = "application/problem+json")))]
pub async fn login(
    req: HttpRequest,
    store: web::Data<Store>,
    tokens: web::Data<Tokens>,
    dummy: web::Data<DummyHash>,
    throttle: web::Data<Throttle>,
    StrictJson(body): StrictJson<Login>,
) -> Result<HttpResponse, ApiError> {
    let denied = ApiError::Unauthorized("wrong login or password");
    let login = body.login.trim();
    let attempt = throttle.attempt(&store, &req, login).await?;
    if login.len() > 100 || body.password.len() > 200 {
        attempt.failed(&store).await?;
        return Err(denied);
    }
    let user = store.user(login).await?;
    let hash = user
        .as_ref()
        .map_or_else(|| dummy.0.clone(), |u| u.password_hash.clone());
    let password = body.password.clone();
    let ok = {
        let _permit = attempt.permit(&store).await?;
        // argon2 is deliberately slow: keep it off the async workers.
        web::block(move || verify_password(&password, &hash))
            .await
            .unwrap_or(false)
    };
    // A deactivated person gets the same answer as a wrong password: nothing to probe.
    let Some(user) = user.filter(|u| ok && u.active) else {
        tracing::info!(login = %body.login, "sign-in refused");
        attempt.failed(&store).await?;
        return Err(denied);
    };
    attempt.succeeded(&store).await?;
    let issued = sessions::open(&store, &tokens, &user).await?;
    tracing::info!(login = %user.login, "signed in");
    Ok(HttpResponse::Ok().json(LoginOk::new(issued, UserView::from(&user))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Refresh {
    /// The `refresh_token` of the sign-in or of the last refresh.
    #[schema(max_length = 200)]
    pub refresh_token: String,
}

/// A new access token and refresh token while the session lives; the refresh token presented
/// stops working. 401: the session has ended (sign in again).
#[utoipa::path(post, path = "/api/v1/auth/refresh", request_body = Refresh,
    responses((status = 200, body = LoginOk),
        (status = 400, body = komek_web::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = komek_web::error::Problem, content_type = "application/problem+json"),
        (status = 413, body = komek_web::error::Problem, content_type = "application/problem+json"),
        (status = 415, body = komek_web::error::Problem, content_type = "application/problem+json"),
        (status = 503, body = komek_web::error::Problem, content_type = "application/problem+json")))]
pub async fn refresh(
    store: web::Data<Store>,
    tokens: web::Data<Tokens>,
    StrictJson(body): StrictJson<Refresh>,
) -> Result<HttpResponse, ApiError> {
    let (issued, user) = sessions::refresh(&store, &tokens, &body.refresh_token).await?;
    Ok(HttpResponse::Ok().json(LoginOk::new(issued, UserView::from(&user))))
}

/// Signs out: the caller's session ends, and its access and refresh tokens are refused by every
/// service from now on (401).
#[utoipa::path(post, path = "/api/v1/auth/logout", security(("bearer" = [])),
    responses((status = 204, description = "Signed out"),
        (status = 401, body = komek_web::error::Problem, content_type = "application/problem+json"),
        (status = 503, body = komek_web::error::Problem, content_type = "application/problem+json")))]
pub async fn logout(staff: Staff, store: web::Data<Store>) -> Result<HttpResponse, ApiError> {
    if let Some(sid) = staff.session_id() {
        sessions::end(&store, sid).await?;
    }
    tracing::info!(login = %staff.login(), "signed out");
    Ok(HttpResponse::NoContent().finish())
}

/// Who a token stands for now.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionInfo {
    /// The person as stored now (role and department included).
    pub user: UserView,
    /// When this access token expires.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: time::OffsetDateTime,
    /// When the session ends at the latest.
    #[serde(with = "time::serde::rfc3339")]
    pub session_expires_at: time::OffsetDateTime,
}

/// The caller's session: 200 while the token and its session stand, 401 otherwise.
#[utoipa::path(get, path = "/api/v1/auth/session", security(("bearer" = [])),
    responses((status = 200, body = SessionInfo),
        (status = 401, body = komek_web::error::Problem, content_type = "application/problem+json"),
        (status = 503, body = komek_web::error::Problem, content_type = "application/problem+json")))]
pub async fn session(req: HttpRequest, store: web::Data<Store>) -> Result<HttpResponse, ApiError> {
    let claims = Staff::claims(&req)?;
    let (user, session) = crate::current_session(&store, &claims).await?;
    let at =
        |t: i64| time::OffsetDateTime::from_unix_timestamp(t).map_err(|e| ApiError::internal(&e));
    Ok(HttpResponse::Ok().json(SessionInfo {
        user: UserView::from(&user),
        expires_at: at(claims.exp)?,
        session_expires_at: at(session.expires)?,
    }))
}

/// The OpenAPI fragment of the session routes, for a service that mounts only them
/// ([`configure_session`]); with the bearer scheme they use.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(logout, session),
    components(schemas(SessionInfo, komek_web::error::Problem)),
    modifiers(&BearerScheme)
)]
pub struct SessionApi;

/// Declares the `bearer` security scheme (a JWT in `Authorization: Bearer ...`).
pub struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            );
    }
}
