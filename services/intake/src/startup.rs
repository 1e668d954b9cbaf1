//! The app factory: the same code builds the service for `main` and for tests (port 0).

use actix_web::web;
use komek_settings::Settings;
use komek_web::{Application, Runtime, StartError};
use utoipa::OpenApi;

pub async fn build(settings: Settings) -> Result<Application, StartError> {
    let port = settings.services.intake;
    let mut runtime = Runtime::start("komek-intake", settings).await?;
    let notifier = std::sync::Arc::new(crate::notify::Notifier::new(
        runtime.store.clone(),
        runtime.settings.clone(),
    ));
    runtime.spawn_consumer("intake", move |event| {
        crate::notify::handle(notifier.clone(), event)
    });
    // The inbound SMTP listener (email.smtp_port; 0 picks a free port, logged).
    let (smtp, _) = crate::smtp::bind(&runtime.settings)
        .await
        .map_err(|source| StartError::Bind {
            addr: format!(
                "{}:{} (email.smtp_port)",
                runtime.settings.http.host, runtime.settings.email.smtp_port
            ),
            source,
        })?;
    let smtp_ctx = std::sync::Arc::new(crate::smtp::Context {
        store: runtime.store.clone(),
        settings: runtime.settings.clone(),
        calendar: runtime.settings.calendar.clone(),
        threads: crate::email::ThreadKeys::new(&runtime.settings.auth),
    });
    runtime.spawn_task(move |shutdown| crate::smtp::serve(smtp, smtp_ctx, shutdown));
    let store = web::Data::new(runtime.store.clone());
    let settings = web::Data::new(runtime.settings.clone());
    let calendar = web::Data::new(runtime.settings.calendar.clone());
    let tokens = web::Data::new(komek_auth::Tokens::new(&runtime.settings.auth));
    // Staff routes (`/api/v1/contacts`) pass the access gate with the same token check as the
    // staff services.
    let gate = komek_web::access::gate_data(komek_auth::gate::TokenGate);
    let openapi = crate::routes::ApiDoc::openapi();
    runtime.serve(port, openapi, crate::routes::access(), move |cfg| {
        cfg.app_data(store.clone())
            .app_data(settings.clone())
            .app_data(calendar.clone())
            .app_data(tokens.clone())
            .app_data(gate.clone())
            .configure(komek_web::i18n::configure)
            .configure(crate::routes::configure)
            .configure(crate::sms::configure);
    })
}
