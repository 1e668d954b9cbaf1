//! komek-workspace: `KOMEK_ENV` picks the settings layer; see README.md for ports and settings.

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let (settings, _telemetry) = komek_web::boot("komek-workspace");
    let app = match komek_workspace::startup::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "komek-workspace could not start");
            std::process::exit(1);
        }
    };
    app.run_until_stopped().await
}
