//! The app factory: the same code builds the service for `main` and for tests (port 0).

use actix_web::web;
use komek_settings::Settings;
use komek_web::{Application, Runtime, StartError};
use utoipa::OpenApi;

pub async fn build(settings: Settings) -> Result<Application, StartError> {
    let port = settings.services.survey;
    let mut runtime = Runtime::start("komek-survey", settings).await?;
    let (store, settings) = (runtime.store.clone(), runtime.settings.clone());
    runtime.spawn_consumer("survey", move |event| {
        crate::consumer::handle(store.clone(), settings.clone(), event)
    });
    let store = web::Data::new(runtime.store.clone());
    // No staff routes of its own, but the session routes every service has: a token is checked
    // (and a sign-out honoured) the same way on all four.
    let tokens = web::Data::new(komek_auth::Tokens::new(&runtime.settings.auth));
    let gate = komek_web::access::gate_data(komek_auth::gate::TokenGate);
    let mut openapi = crate::routes::ApiDoc::openapi();
    openapi.merge(komek_auth::login::SessionApi::openapi());
    let mut access = crate::routes::access();
    access.extend(komek_auth::login::session_rules());
    runtime.serve(port, openapi, access, move |cfg| {
        cfg.app_data(store.clone())
            .app_data(tokens.clone())
            .app_data(gate.clone())
            .configure(komek_auth::login::configure_session)
            .configure(komek_web::i18n::configure)
            .configure(crate::routes::configure);
    })
}
