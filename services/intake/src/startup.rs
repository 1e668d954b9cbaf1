//! The app factory: the same code builds the service for `main` and for tests (port 0).

use actix_web::web;
use komek_settings::Settings;
use komek_web::{Application, Runtime, StartError};
use utoipa::OpenApi;

pub async fn build(settings: Settings) -> Result<Application, StartError> {
    let port = settings.services.intake;
    let runtime = Runtime::start("komek-intake", settings).await?;
    let store = web::Data::new(runtime.store.clone());
    let settings = web::Data::new(runtime.settings.clone());
    // Checked by Settings::check at load, so this only fails if the check was skipped.
    let calendar = web::Data::new(
        runtime
            .settings
            .calendar
            .calendar()
            .unwrap_or_else(|_| komek_domain::calendar::always_open()),
    );
    let openapi = crate::routes::ApiDoc::openapi()
        .to_json()
        .unwrap_or_default();
    runtime.serve(port, openapi, move |cfg| {
        cfg.app_data(store.clone())
            .app_data(settings.clone())
            .app_data(calendar.clone())
            .configure(crate::routes::configure);
    })
}
