//! `GET /openapi.json` names every error code a client can get.

use crate::helpers::spawn_app;

/// The document's `Problem.code` is the `ProblemCode` enum of the whole error table, so a client
/// that branched on the old `conflict` finds the codes that replaced it.
#[tokio::test(flavor = "multi_thread")]
async fn openapi_lists_every_error_code() {
    let mut app = spawn_app("intake-openapi").await;
    komek_web::testing::openapi_lists_every_code(&app).await;
    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
