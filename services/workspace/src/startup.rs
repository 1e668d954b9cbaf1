//! The app factory: the same code builds the service for `main` and for tests (port 0).

use actix_web::web;
use komek_auth::login::SignIn;
use komek_settings::Settings;
use komek_web::{Application, Runtime, StartError};

use std::sync::Arc;

use crate::Deps;

pub async fn build(settings: Settings) -> Result<Application, StartError> {
    let port = settings.services.workspace;
    let mut runtime = Runtime::start("komek-workspace", settings).await?;
    if runtime.settings.seed.demo {
        let added = runtime
            .store
            .seed_demo(|p| komek_auth::hash_password(p).unwrap_or_default())
            .await?;
        tracing::info!(added, "demo data seeded");
        let directory = komek_customers::DirectorySource::new(runtime.store.clone());
        match komek_customers::demo::seed_demo(&directory).await {
            Ok(r) => tracing::info!(
                added = r.added,
                updated = r.updated,
                unchanged = r.unchanged,
                rejected = r.rejected.len(),
                "demo customers seeded"
            ),
            Err(komek_customers::ImportError::Store(e)) => return Err(e.into()),
            Err(e) => tracing::error!(error = %e, "demo customers not seeded"),
        }
    }
    let calendar = runtime.settings.calendar.clone();
    // The store moves the deadline index with every request commit, warnings placed by policy.
    runtime.store = runtime
        .store
        .clone()
        .with_deadlines(runtime.settings.deadlines.clone(), calendar.clone());
    let deps = Arc::new(Deps {
        store: runtime.store.clone(),
        settings: runtime.settings.clone(),
        calendar: calendar.clone(),
    });
    // `/metrics`: requests by status and the waiting queue, read at scrape time.
    runtime.scrape(komek_web::metrics::requests());
    let hub = runtime.start_work(
        "workspace",
        deps.clone(),
        (
            crate::consumer::handle,
            crate::watcher::run,
            crate::live::on_event,
        ),
        crate::live::PUSHED,
    );
    let hub = web::Data::new(hub);
    // The handlers' one shared state, held as the escalation service holds its own.
    let deps_data = web::Data::from(deps.clone());
    // The shared sign-in handler (`komek_auth::login`) and the `Staff` extractor read it, as
    // in the escalation service.
    let sign_in = SignIn::new(runtime.store.clone(), &runtime.settings.auth);
    let customers = web::Data::new(komek_customers::Customers::from_settings(
        &runtime.settings.customers,
        runtime.store.clone(),
    ));
    let openapi = crate::routes::openapi();
    runtime.serve(port, openapi, crate::routes::access(), move |cfg| {
        sign_in.register(cfg);
        cfg.app_data(hub.clone())
            .app_data(deps_data.clone())
            .app_data(customers.clone())
            .route("/api/v1/live", web::get().to(crate::live::connect))
            .configure(komek_web::i18n::configure)
            .configure(crate::routes::configure);
    })
}
