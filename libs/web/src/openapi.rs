//! Completes every operation of a service's OpenAPI document with the answers all routes share,
//! so the document says what the service does (schemathesis checks it in CI against the running
//! services: `tests/tests/schema_conformance.rs`).
//!
//! A handler's `#[utoipa::path]` documents its own answers; what the gate, the extractors and the
//! store add to every route is written here once, from the route's [`Access`] class and shape:
//!
//! | status | when the operation has                         | from                          |
//! |--------|------------------------------------------------|-------------------------------|
//! | 400    | a body, a query or a path parameter            | [`crate::body`]'s extractors  |
//! | 401    | a signed-in class                              | the gate                      |
//! | 403    | a signed-in class                              | the gate, or the handler's object check |
//! | 404    | a path parameter, or the customer class        | the handler                   |
//! | 413, 415 | a body                                       | [`crate::StrictJson`]         |
//! | 422    | a body, a query or a path parameter            | the handler's validation      |
//! | 429    | the customer or gateway class, a public write  | the per-address limits        |
//! | 503    | anything but a public read                     | the data store being away     |
//!
//! Every error answer, documented by a handler or added here, is `application/problem+json` with
//! the [`Problem`] schema (an HTML page keeps `text/html` beside it: its own errors are pages, a
//! malformed path is problem+json like everywhere else).
//!
//! The string checks the domain makes are named once, as a `format` on the field
//! (`#[schema(format = "text")]`), and [`patterns`] writes each format's regular expression into
//! the document, so a schema-valid value is one the service accepts:
//!
//! | format            | the value                                                              |
//! |-------------------|------------------------------------------------------------------------|
//! | `text`            | not blank; no control character but newline, tab (and CR before LF): `komek_domain::text::bounded` |
//! | `text-or-blank`   | the same, or blank (an optional text)                                  |
//! | `loose-text`      | something visible; controls are removed (the intake channels' text)   |
//! | `msisdn`          | a phone number: `+` and 8 to 15 digits, or Kazakhstan's `8` and 10 digits; spaces, `-`, `(`, `)` between |
//! | `msisdn-or-blank` | the same, or blank                                                     |
//! | `email-address`   | one `@` and a dotted domain, no spaces or controls                    |
//! | `email-address-or-blank` | the same, or blank                                                     |
//! | `login`           | 1 to 64 of a-z, 0-9, `.`, `-`, `_`                                     |

use actix_web::http::Method;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{ArrayItems, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{Content, HeaderBuilder, OpenApi, Ref, RefOr, Response};
use utoipa::{PartialSchema, ToSchema};

use crate::access::Access;
use crate::error::Problem;

const PROBLEM_JSON: &str = "application/problem+json";
const HTML: &str = "text/html";

/// What an added status means; a handler's own description of it is kept.
fn description(status: u16) -> &'static str {
    match status {
        400 => "Malformed: a body that is not JSON or does not fit the schema, a bad query or path",
        401 => "No valid session: sign in (or refresh the token) first",
        403 => "The caller's role, department or relation to the object does not allow this",
        404 => "No such object, or none the caller may see",
        409 => "The object's state does not allow this (the `code` says which)",
        413 => "The body is larger than the service accepts",
        415 => "The body is not application/json",
        422 => "Some fields are not valid; `errors` names each",
        429 => {
            "Too many requests from this address or for this object; `Retry-After` says when to try again"
        }
        503 => "The data store is away; `Retry-After` says when to try again",
        _ => "An error (the `code` says which)",
    }
}

/// The statuses every operation of this class and shape can answer besides its own.
fn shared_statuses(access: Access, method: &Method, path: &str, op: &Operation) -> Vec<u16> {
    let has_body = op.request_body.is_some();
    let params = op.parameters.as_deref().unwrap_or_default();
    let has_query = params
        .iter()
        .any(|p| matches!(p, RefOr::T(p) if matches!(p.parameter_in, ParameterIn::Query)));
    let has_path = path.contains('{');
    let public = matches!(access, Access::Anonymous);
    let mut out = Vec::new();
    if has_body || has_query || has_path {
        out.push(400);
    }
    if access.signed_in() {
        out.extend([401, 403]);
    }
    if has_path || access == Access::Customer {
        out.push(404);
    }
    if has_body {
        out.extend([413, 415]);
    }
    if has_body || has_query || has_path {
        out.push(422);
    }
    if matches!(access, Access::Customer | Access::Gateway) || (public && method != Method::GET) {
        out.push(429);
    }
    if !(public && method == Method::GET) {
        out.push(503);
    }
    out
}

/// Whether a documented body is a problem+json one (`ProblemDetails`, or a handler's `Problem`
/// alias of it).
fn refers_to_problem(c: &RefOr<Content>) -> bool {
    let name = Problem::name();
    matches!(c, RefOr::T(c) if matches!(&c.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with(&*name)))
}

fn problem_content() -> RefOr<Content> {
    RefOr::T(Content::new(Some(Ref::from_schema_name(Problem::name()))))
}

/// Adds the shared answers to `op` and makes every error answer problem+json.
pub fn complete(access: Access, method: &Method, path: &str, op: &mut Operation) {
    let html_page = op
        .responses
        .responses
        .values()
        .any(|r| matches!(r, RefOr::T(r) if r.content.contains_key(HTML)));
    for status in shared_statuses(access, method, path, op) {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::T(Response::new(description(status))));
    }
    for (status, response) in op.responses.responses.iter_mut() {
        let Ok(code) = status.parse::<u16>() else {
            continue;
        };
        let RefOr::T(response) = response else {
            continue;
        };
        if code < 400 {
            continue;
        }
        // An error with its own body (readiness' 503, the SMS gateway's text) keeps it; the
        // others are problem+json.
        if response.content.iter().any(|(ct, c)| {
            ct.starts_with("text/plain")
                || (ct == "application/json"
                    && matches!(c, RefOr::T(c) if c.schema.is_some())
                    && !refers_to_problem(c))
        }) {
            continue;
        }
        let keep_html = html_page || response.content.contains_key(HTML);
        response.content.clear();
        response
            .content
            .insert(PROBLEM_JSON.into(), problem_content());
        if keep_html {
            response.content.insert(
                HTML.into(),
                RefOr::T(Content::new(Some(
                    ObjectBuilder::new().schema_type(Type::String).build(),
                ))),
            );
        }
        if matches!(code, 429 | 503) {
            response
                .headers
                .entry("Retry-After".into())
                .or_insert_with(|| {
                    RefOr::T(
                        HeaderBuilder::new()
                            .schema(Some(
                                ObjectBuilder::new()
                                    .schema_type(Type::Integer)
                                    .minimum(Some(0))
                                    .build(),
                            ))
                            .description(Some("Seconds to wait before trying again"))
                            .build(),
                    )
                });
        }
    }
}

/// Registers the problem+json schemas the completed operations refer to.
pub fn register_schemas(doc: &mut OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    let mut schemas = vec![(Problem::name().into_owned(), Problem::schema())];
    Problem::schemas(&mut schemas);
    for (name, schema) in schemas {
        components.schemas.entry(name).or_insert(schema);
    }
}

/// Characters a [`bounded`](komek_domain::text::bounded) text may hold (CR only before LF).
const TEXT_CHAR: &str = r"(?:[^\x00-\x08\x0b-\x1f\x7f-\x9f]|\r\n)";
/// A character that makes a text not blank.
const VISIBLE: &str = r"[^\s\x00-\x1f\x7f-\x9f]";
/// What `Msisdn::parse` accepts, with its separators.
const MSISDN: &str =
    r"[ ()-]*(?:\+[ ()-]*[1-9](?:[ ()-]*[0-9]){7,14}|8(?:[ ()-]*[0-9]){10})[ ()-]*";
/// What `Email::parse` accepts (it lower-cases; the length bound is the field's).
const EMAIL: &str = r"[^@\s\x00-\x1f\x7f-\x9f<>]+@[^@.\s\x00-\x1f\x7f-\x9f<>][^@\s\x00-\x1f\x7f-\x9f<>]*\.[^@\s\x00-\x1f\x7f-\x9f<>]*[^@.\s\x00-\x1f\x7f-\x9f<>]";

/// The regular expression of a `format` named in the module's table.
fn pattern_of(format: &str) -> Option<String> {
    Some(match format {
        "text" => format!("^{TEXT_CHAR}*{VISIBLE}{TEXT_CHAR}*$"),
        "text-or-blank" => format!("^{TEXT_CHAR}*$"),
        "loose-text" => VISIBLE.to_owned(),
        "msisdn" => format!("^{MSISDN}$"),
        "msisdn-or-blank" => format!("^(?:{MSISDN}|\\s*)$"),
        "email-address" => format!("^\\s*(?:{EMAIL})\\s*$"),
        "email-address-or-blank" => format!("^\\s*(?:{EMAIL})?\\s*$"),
        "login" => "^[a-z0-9._-]{1,64}$".to_owned(),
        _ => return None,
    })
}

fn with_patterns(schema: &mut RefOr<Schema>) {
    let RefOr::T(schema) = schema else { return };
    match schema {
        Schema::Object(o) => {
            if let Some(SchemaFormat::Custom(f)) = &o.format
                && let Some(p) = pattern_of(f)
            {
                o.pattern = Some(p);
            }
            o.properties.values_mut().for_each(with_patterns);
        }
        Schema::Array(a) => {
            if let ArrayItems::RefOrSchema(items) = &mut a.items {
                with_patterns(items);
            }
        }
        Schema::AllOf(s) => s.items.iter_mut().for_each(with_patterns),
        Schema::OneOf(s) => s.items.iter_mut().for_each(with_patterns),
        Schema::AnyOf(s) => s.items.iter_mut().for_each(with_patterns),
        _ => {}
    }
}

/// Every operation of `doc` (the methods the services use), to change in place.
pub fn operations_mut(doc: &mut OpenApi) -> impl Iterator<Item = &mut Operation> {
    doc.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
    })
}

/// Writes each named format's regular expression into every schema of `doc`: the components,
/// the parameters and the inline bodies.
pub fn patterns(doc: &mut OpenApi) {
    if let Some(c) = doc.components.as_mut() {
        c.schemas.values_mut().for_each(with_patterns);
    }
    for op in operations_mut(doc) {
        for p in op.parameters.iter_mut().flatten() {
            if let RefOr::T(p) = p
                && let Some(s) = p.schema.as_mut()
            {
                with_patterns(s);
            }
        }
        if let Some(RefOr::T(body)) = op.request_body.as_mut() {
            for c in body.content.values_mut() {
                if let RefOr::T(c) = c
                    && let Some(s) = c.schema.as_mut()
                {
                    with_patterns(s);
                }
            }
        }
    }
}
