//! The app factory: the same code builds the service for `main` and for tests (port 0).

use std::sync::Arc;

use actix_web::web;
use komek_auth::login::SignIn;
use komek_settings::Settings;
use komek_web::{Application, Runtime, StartError};

use crate::Deps;

pub async fn build(settings: Settings) -> Result<Application, StartError> {
    let port = settings.services.escalation;
    let mut runtime = Runtime::start("komek-escalation", settings).await?;
    let deps = Arc::new(Deps {
        store: runtime.store.clone(),
        settings: runtime.settings.clone(),
    });
    // `/metrics`: open escalations per department, read at scrape time.
    runtime.scrape(komek_web::metrics::escalations());
    // Live pushes to the department page: every replica hears the events the page shows
    // (`live::PUSHED`).
    let hub = runtime.start_work(
        "escalation",
        deps.clone(),
        (
            crate::consumer::handle,
            crate::watcher::run,
            crate::live::on_event,
        ),
        crate::live::PUSHED,
    );
    let hub = web::Data::new(hub);
    // The page's sign-in (`komek_auth::login`) and its customer 360 (`routes::page`).
    let sign_in = SignIn::new(runtime.store.clone(), &runtime.settings.auth);
    let customers = web::Data::new(komek_customers::Customers::from_settings(
        &runtime.settings.customers,
        runtime.store.clone(),
    ));
    let deps = web::Data::from(deps);
    let openapi = crate::routes::openapi();
    runtime.serve(port, openapi, crate::routes::access(), move |cfg| {
        sign_in.register(cfg);
        cfg.app_data(customers.clone())
            .app_data(deps.clone())
            .app_data(hub.clone())
            .route("/api/v1/live", web::get().to(crate::live::connect))
            .configure(komek_web::i18n::configure)
            .configure(crate::routes::configure);
    })
}
