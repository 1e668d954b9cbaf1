//! komek-intake: `KOMEK_ENV` picks the settings layer; see README.md for ports and settings.

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let (settings, _telemetry) = komek_web::boot("komek-intake");
    let app = match komek_intake::startup::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "komek-intake could not start");
            std::process::exit(1);
        }
    };
    app.run_until_stopped().await
}
