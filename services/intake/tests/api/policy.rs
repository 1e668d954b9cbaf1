//! The access table, walked: every operation of the served OpenAPI document, called by every
//! kind of caller, answers as its `x-komek-access` class says (`komek_web::testing::walk_access`).

use komek_auth::Tokens;
use komek_web::testing::{callers, walk_access};

use crate::helpers::spawn_app;

/// A route without a rule stops the start (the document is annotated at start-up), so this walk
/// covers every documented route; the gate refuses the roles its class does not admit, 401 for
/// nobody signed in, and lets the rest through to the handler.
#[tokio::test(flavor = "multi_thread")]
async fn every_route_answers_every_role_as_the_table_says() {
    let mut app = spawn_app("int-policy").await;
    let tokens = Tokens::new(&app.settings.auth);
    let who = callers(&app, |u| tokens.issue(u).unwrap().0).await;
    let calls = walk_access(&app, &who).await;
    assert!(calls >= 15, "{calls} calls");
    app.stop().await;
}
