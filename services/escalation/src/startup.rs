//! The app factory: the same code builds the service for `main` and for tests (port 0).

use actix_web::web;
use komek_auth::Tokens;
use komek_settings::Settings;
use komek_web::{Application, Runtime, StartError};
use utoipa::OpenApi;

pub async fn build(settings: Settings) -> Result<Application, StartError> {
    let port = settings.services.escalation;
    let mut runtime = Runtime::start("komek-escalation", settings).await?;
    let store = runtime.store.clone();
    runtime.spawn_consumer("escalation", move |event| {
        crate::consumer::handle(store.clone(), event)
    });
    let tokens = web::Data::new(Tokens::new(&runtime.settings.auth));
    let store = web::Data::new(runtime.store.clone());
    let openapi = crate::routes::ApiDoc::openapi()
        .to_json()
        .unwrap_or_default();
    runtime.serve(port, openapi, move |cfg| {
        cfg.app_data(store.clone())
            .app_data(tokens.clone())
            .configure(crate::routes::configure);
    })
}
