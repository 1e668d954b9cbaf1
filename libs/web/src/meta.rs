//! `GET /api/v1/meta`: the codes of the domain's enums (statuses, categories, channels, ...), so the
//! staff pages take their choices from the Rust types instead of keeping copies in JavaScript.
//!
//! The codes are read from each enum's OpenAPI schema, which utoipa derives from the same serde
//! attributes that name the codes on the wire: one source, and the unit tests check that every
//! listed code deserializes back into its enum. Public and read-only (the page needs it before
//! sign-in, and the codes are in the OpenAPI document anyway); mounted by
//! [`crate::page::SinglePage::configure`].

use std::sync::LazyLock;

use actix_web::{HttpResponse, web};
use komek_domain::escalation::{AnswerOutcome, EscalationStatus, Tier};
use komek_domain::problem::ProblemStatus;
use komek_domain::staff::{Presence, Role};
use komek_domain::{Category, Channel, Lang, MessageKind, Priority, Status};
use serde::Serialize;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{OpenApi, PartialSchema, ToSchema};

pub const PATH: &str = "/api/v1/meta";

/// The codes a staff page shows and offers, each list in the enum's declaration order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Meta {
    /// Interface and customer languages (`Lang`), in the order the pages offer them.
    pub languages: Vec<String>,
    /// Request lifecycle statuses (`Status`).
    pub statuses: Vec<String>,
    pub categories: Vec<String>,
    pub priorities: Vec<String>,
    pub channels: Vec<String>,
    /// Kinds of customer-visible messages (`MessageKind`).
    pub message_kinds: Vec<String>,
    pub roles: Vec<String>,
    pub presences: Vec<String>,
    pub escalation_statuses: Vec<String>,
    pub tiers: Vec<String>,
    pub answer_outcomes: Vec<String>,
    pub problem_statuses: Vec<String>,
}

/// The codes of a unit-only enum, as its OpenAPI schema (and so serde) names them.
fn codes<T: PartialSchema>() -> Vec<String> {
    match T::schema() {
        RefOr::T(Schema::Object(o)) => o
            .enum_values
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

static META: LazyLock<Meta> = LazyLock::new(|| Meta {
    languages: codes::<Lang>(),
    statuses: codes::<Status>(),
    categories: codes::<Category>(),
    priorities: codes::<Priority>(),
    channels: codes::<Channel>(),
    message_kinds: codes::<MessageKind>(),
    roles: codes::<Role>(),
    presences: codes::<Presence>(),
    escalation_statuses: codes::<EscalationStatus>(),
    tiers: codes::<Tier>(),
    answer_outcomes: codes::<AnswerOutcome>(),
    problem_statuses: codes::<ProblemStatus>(),
});

/// The codes, built once.
pub fn meta_codes() -> &'static Meta {
    &META
}

/// The codes of the domain's enums the staff pages use (no sign-in needed).
#[utoipa::path(get, path = "/api/v1/meta", tag = "meta",
    responses((status = 200, description = "The codes of the domain's enums", body = Meta)))]
pub async fn meta() -> HttpResponse {
    HttpResponse::Ok()
        // The codes change only with a new binary: revalidate, never serve a stale list.
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-cache"))
        .json(meta_codes())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::get().to(meta));
}

/// The fragment each service with a staff page merges into its OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(meta), components(schemas(Meta)))]
pub struct ApiDoc;

#[cfg(test)]
mod tests {
    use actix_web::{App, test as web_test};
    use serde::de::DeserializeOwned;

    use super::*;

    fn round_trips<T: DeserializeOwned + Serialize>(codes: &[String], count: usize) {
        assert_eq!(codes.len(), count, "{codes:?}");
        for c in codes {
            let v: T = serde_json::from_value(serde_json::json!(c)).unwrap();
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(c));
        }
    }

    #[test]
    fn every_code_is_its_enums_wire_name() {
        let m = meta_codes();
        round_trips::<Lang>(&m.languages, 3);
        round_trips::<Status>(&m.statuses, 9);
        round_trips::<Category>(&m.categories, 7);
        round_trips::<Priority>(&m.priorities, 4);
        round_trips::<Channel>(&m.channels, 5);
        round_trips::<MessageKind>(&m.message_kinds, 4);
        round_trips::<Role>(&m.roles, 3);
        round_trips::<Presence>(&m.presences, 3);
        round_trips::<EscalationStatus>(&m.escalation_statuses, 4);
        round_trips::<Tier>(&m.tiers, 3);
        round_trips::<AnswerOutcome>(&m.answer_outcomes, 2);
        round_trips::<ProblemStatus>(&m.problem_statuses, 4);
        assert_eq!(m.languages, ["kk", "ru", "en"]);
        assert_eq!(m.statuses[0], "new");
        assert!(m.categories.iter().any(|c| c == "sim_card"));
    }

    #[actix_web::test]
    async fn the_endpoint_serves_the_codes_and_is_documented() {
        let app = web_test::init_service(App::new().configure(configure)).await;
        let res =
            web_test::call_service(&app, web_test::TestRequest::get().uri(PATH).to_request()).await;
        assert!(res.status().is_success());
        let body: serde_json::Value = web_test::read_body_json(res).await;
        assert_eq!(body["statuses"][3], "in_progress");
        assert_eq!(body["escalation_statuses"][2], "info_requested");
        assert!(ApiDoc::openapi().paths.paths.contains_key(PATH));
    }
}
