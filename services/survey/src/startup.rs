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
    let openapi = crate::routes::ApiDoc::openapi();
    runtime.serve(port, openapi, crate::routes::access(), move |cfg| {
        cfg.app_data(store.clone())
            .configure(komek_web::i18n::configure)
            .configure(crate::routes::configure);
    })
}
