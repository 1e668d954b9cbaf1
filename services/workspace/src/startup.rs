//! The app factory: the same code builds the service for `main` and for tests (port 0).

use actix_web::web;
use komek_auth::Tokens;
use komek_settings::Settings;
use komek_web::{Application, Runtime, StartError};
use utoipa::OpenApi;

use crate::routes::DummyHash;

pub async fn build(settings: Settings) -> Result<Application, StartError> {
    let port = settings.services.workspace;
    let mut runtime = Runtime::start("komek-workspace", settings).await?;
    if runtime.settings.seed.demo {
        let added = runtime
            .store
            .seed_demo(|p| komek_auth::hash_password(p).unwrap_or_default())
            .await?;
        tracing::info!(added, "demo data seeded");
    }
    let (store, settings) = (runtime.store.clone(), runtime.settings.clone());
    runtime.spawn_consumer("workspace", move |event| crate::consumer::handle(store.clone(), settings.clone(), event));
    let tokens = web::Data::new(Tokens::new(&runtime.settings.auth));
    let dummy = web::Data::new(DummyHash(komek_auth::hash_password("no user has this password").unwrap_or_default()));
    let store = web::Data::new(runtime.store.clone());
    let settings = web::Data::new(runtime.settings.clone());
    let openapi = crate::routes::ApiDoc::openapi().to_json().unwrap_or_default();
    runtime.serve(port, openapi, move |cfg| {
        cfg.app_data(store.clone())
            .app_data(settings.clone())
            .app_data(tokens.clone())
            .app_data(dummy.clone())
            .configure(crate::routes::configure);
    })
}
