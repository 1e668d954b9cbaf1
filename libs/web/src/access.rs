//! Who may call what, declared once: each service lists every route it serves with its
//! [`Access`] in a table of [`Rule`]s; the [`Policy`] made of those tables is
//!
//! - enforced before any handler runs by the [`enforce`] middleware, which asks the service's
//!   [`Gate`] (the token check of `komek_auth`) for the signed-in classes: 401 without a valid
//!   session, 403 for a role the class does not admit;
//! - written into the OpenAPI document ([`Policy::annotate`]): every operation gets
//!   `x-komek-access` (the class) and its security requirement, and an operation without a rule
//!   is an error at start-up, so a new route without a policy cannot ship.
//!
//! The gate checks the caller's *role*; the *object* part of a class (the request's owner, the
//! escalation's department, the department a head runs, the customer's secret) is the handler's,
//! which knows the object. A route the table does not name at all is refused (403) and logged:
//! default deny. A declared path asked with an undeclared method is 405 with `Allow`.

use std::borrow::Cow;
use std::collections::HashMap;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, ResponseError, web};
use futures_util::future::LocalBoxFuture;
use komek_domain::staff::Role;
use serde::Serialize;

use crate::ApiError;

/// The classes of caller a route admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Anyone: probes, metrics, documents, page files, texts, sign-in.
    Anonymous,
    /// Anyone at the gate; the handler asks for the customer's secret (a status or survey token,
    /// or a request number with its contact, rate-limited) and answers 404 without it.
    Customer,
    /// The SMS gateway (Kannel): anyone at the gate; the handler asks for the gateway's shared
    /// secret.
    Gateway,
    /// Any signed-in staff member.
    Staff,
    /// Agents and supervisors.
    Agent,
    /// Agents and supervisors at the gate; the handler admits the request's owner (and
    /// supervisors) only.
    Owner,
    /// Supervisors.
    Supervisor,
    /// Department staff at the gate; the handler admits the staff of the department that owns
    /// the object only.
    Department,
    /// Department staff (their own department, checked by the handler) and supervisors.
    DepartmentOrSupervisor,
    /// Supervisors, and department staff at the gate, of whom the handler admits the head of the
    /// department concerned only.
    Head,
    /// Staff administration: supervisors.
    Admin,
}

impl Access {
    /// Every class, for tables and tests that walk them.
    pub const ALL: [Access; 11] = [
        Access::Anonymous,
        Access::Customer,
        Access::Gateway,
        Access::Staff,
        Access::Agent,
        Access::Owner,
        Access::Supervisor,
        Access::Department,
        Access::DepartmentOrSupervisor,
        Access::Head,
        Access::Admin,
    ];

    /// The code in the OpenAPI document's `x-komek-access`.
    pub fn code(self) -> &'static str {
        match self {
            Access::Anonymous => "anonymous",
            Access::Customer => "customer",
            Access::Gateway => "gateway",
            Access::Staff => "staff",
            Access::Agent => "agent",
            Access::Owner => "owner",
            Access::Supervisor => "supervisor",
            Access::Department => "department",
            Access::DepartmentOrSupervisor => "department_or_supervisor",
            Access::Head => "head",
            Access::Admin => "admin",
        }
    }

    /// Whether the gate asks for a signed-in caller.
    pub fn signed_in(self) -> bool {
        !matches!(self, Access::Anonymous | Access::Customer | Access::Gateway)
    }

    /// Whether a signed-in caller of `role` passes the gate.
    pub fn admits(self, role: Role) -> bool {
        use Role::{Agent, DepartmentStaff, Supervisor};
        match self {
            Access::Anonymous | Access::Customer | Access::Gateway | Access::Staff => true,
            Access::Agent | Access::Owner => matches!(role, Agent | Supervisor),
            Access::Supervisor | Access::Admin => role == Supervisor,
            Access::Department => role == DepartmentStaff,
            Access::DepartmentOrSupervisor | Access::Head => {
                matches!(role, DepartmentStaff | Supervisor)
            }
        }
    }
}

/// One route: its method, its path as registered (`{name}` for a parameter) and who may call it.
#[derive(Debug, Clone)]
pub struct Rule {
    pub method: Method,
    pub path: Cow<'static, str>,
    pub access: Access,
}

/// A [`Rule`], for the tables: `rule(Method::GET, "/api/v1/queue", Access::Agent)`.
pub fn rule(method: Method, path: impl Into<Cow<'static, str>>, access: Access) -> Rule {
    Rule {
        method,
        path: path.into(),
        access,
    }
}

/// The same path with every parameter written `{}`: a route registered as `{id}` and documented
/// as `{number}` is one route.
fn shape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut depth = 0usize;
    for c in path.chars() {
        match c {
            '{' => {
                if depth == 0 {
                    out.push_str("{}");
                }
                depth += 1;
            }
            '}' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// A service's whole table, looked up by method and route pattern.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    rules: HashMap<(Method, String), Access>,
    /// The methods of each path, for `Allow`.
    paths: HashMap<String, Vec<Method>>,
    /// Two rules for one route with different classes: a table error, reported by [`Policy::check`].
    conflicts: Vec<String>,
}

impl Policy {
    /// The policy of the tables together (a service's own and the shared routes' ones).
    pub fn new<'a>(tables: impl IntoIterator<Item = &'a [Rule]>) -> Self {
        let mut p = Policy::default();
        for r in tables.into_iter().flatten() {
            let key = (r.method.clone(), shape(&r.path));
            let methods = p.paths.entry(key.1.clone()).or_default();
            if !methods.contains(&r.method) {
                methods.push(r.method.clone());
            }
            if let Some(before) = p.rules.insert(key, r.access)
                && before != r.access
            {
                p.conflicts.push(format!(
                    "{} {}: {before:?} and {:?}",
                    r.method, r.path, r.access
                ));
            }
        }
        p
    }

    /// The class of `method` on the route `pattern` (as `match_pattern` gives it); `None` when
    /// the table does not name it.
    pub fn access(&self, method: &Method, pattern: &str) -> Option<Access> {
        let shaped = shape(pattern);
        // HEAD is answered as GET by the router.
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.rules.get(&(method.clone(), shaped)).copied()
    }

    /// Whether the table names `pattern` with any method.
    pub fn knows_path(&self, pattern: &str) -> bool {
        self.paths.contains_key(&shape(pattern))
    }

    /// The methods the table names for `pattern` (HEAD with GET, as the router answers it).
    pub fn methods(&self, pattern: &str) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .paths
            .get(&shape(pattern))
            .map(|ms| ms.iter().map(Method::as_str).collect())
            .unwrap_or_default();
        if v.contains(&"GET") {
            v.push("HEAD");
        }
        v
    }

    /// Every rule, sorted, for documents and tests.
    pub fn rules(&self) -> Vec<(Method, String, Access)> {
        let mut v: Vec<_> = self
            .rules
            .iter()
            .map(|((m, p), a)| (m.clone(), p.clone(), *a))
            .collect();
        v.sort_by(|a, b| (&a.1, a.0.as_str()).cmp(&(&b.1, b.0.as_str())));
        v
    }

    /// Writes each operation's class into `doc` (`x-komek-access`, and the bearer security
    /// requirement for the signed-in classes, none for the others). Errors: every operation of
    /// the document the table does not name, and every rule named twice with two classes.
    pub fn annotate(&self, doc: &mut utoipa::openapi::OpenApi) -> Result<(), Vec<String>> {
        use utoipa::openapi::security::SecurityRequirement;
        let mut missing = self.conflicts.clone();
        for (path, item) in doc.paths.paths.iter_mut() {
            for (method, op) in [
                (Method::GET, &mut item.get),
                (Method::PUT, &mut item.put),
                (Method::POST, &mut item.post),
                (Method::DELETE, &mut item.delete),
                (Method::PATCH, &mut item.patch),
            ] {
                let Some(op) = op else { continue };
                let Some(access) = self.access(&method, path) else {
                    missing.push(format!("{method} {path}: no access rule"));
                    continue;
                };
                let ext = op.extensions.get_or_insert_with(Default::default);
                ext.insert("x-komek-access".into(), serde_json::json!(access.code()));
                op.security = Some(if access.signed_in() {
                    vec![SecurityRequirement::new("bearer", Vec::<String>::new())]
                } else {
                    // An empty requirement: explicitly open, whatever the document's default.
                    vec![SecurityRequirement::default()]
                });
                crate::openapi::complete(access, &method, path, op);
            }
        }
        crate::openapi::register_schemas(doc);
        crate::openapi::patterns(doc);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(missing)
        }
    }
}

/// The detail of the gate's 403, so a test tells it from a handler's own refusal of an object.
pub const GATE_REFUSAL: &str = "your role may not do this";

/// The token check the gate asks for the signed-in classes: implemented by `komek_auth` (which
/// knows tokens and sessions), registered as `web::Data<dyn Gate>`. It leaves what it verified in
/// the request's extensions, so the handler's extractor does not verify again.
pub trait Gate: Send + Sync + 'static {
    /// `Ok` when a caller of `access` may go on; 401 without a valid session, 403 for a role the
    /// class does not admit.
    fn admit(
        &self,
        req: HttpRequest,
        access: Access,
    ) -> LocalBoxFuture<'static, Result<(), ApiError>>;
}

/// The middleware that enforces the [`Policy`] (app data) before any handler runs. Use with
/// `actix_web::middleware::from_fn(komek_web::access::enforce)`.
pub async fn enforce<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let Some(pattern) = req.match_pattern() else {
        // Not a route of ours: the router's 404.
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let refuse = |req: ServiceRequest, e: ApiError| {
        let res = e.error_response();
        Ok(req.into_response(res).map_into_right_body())
    };
    let Some(policy) = req.app_data::<web::Data<Policy>>().cloned() else {
        tracing::error!("no access policy is registered as app data: refusing every route");
        return refuse(req, ApiError::Internal);
    };
    let access = match policy.access(req.method(), &pattern) {
        Some(a) => a,
        // A declared path asked with another method: 405, naming the methods it has.
        None if policy.knows_path(&pattern) => {
            let mut res = ApiError::MethodNotAllowed.error_response();
            if let Ok(allow) = header::HeaderValue::from_str(&policy.methods(&pattern).join(", ")) {
                res.headers_mut().insert(header::ALLOW, allow);
            }
            return Ok(req.into_response(res).map_into_right_body());
        }
        None => {
            tracing::error!(method = %req.method(), route = %pattern, "no access rule for this route: refused");
            return refuse(req, ApiError::Forbidden("this route has no access policy"));
        }
    };
    if access.signed_in() {
        let Some(gate) = req.app_data::<web::Data<dyn Gate>>().cloned() else {
            tracing::error!("no Gate is registered as app data: refusing signed-in routes");
            return refuse(req, ApiError::Internal);
        };
        let http = req.request().clone();
        if let Err(e) = gate.admit(http, access).await {
            return refuse(req, e);
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// The routes every service's runtime mounts ([`crate::ops`], [`crate::i18n`]): probes,
/// metrics, the OpenAPI document and the texts; all anonymous (`/metrics` is kept off the
/// public ingress, see the chart).
pub fn shared() -> Vec<Rule> {
    use Access::Anonymous as A;
    vec![
        rule(Method::GET, "/healthz", A),
        rule(Method::GET, "/readyz", A),
        rule(Method::GET, "/metrics", A),
        rule(Method::GET, "/openapi.json", A),
        rule(Method::GET, "/i18n/{lang}.json", A),
    ]
}

/// Shared ownership of a gate for `web::Data<dyn Gate>`.
pub fn gate_data<G: Gate>(gate: G) -> web::Data<dyn Gate> {
    web::Data::from(std::sync::Arc::new(gate) as std::sync::Arc<dyn Gate>)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_matched_by_shape() {
        let p = Policy::new([&[rule(Method::GET, "/api/v1/requests/{id}", Access::Owner)][..]]);
        assert_eq!(
            p.access(&Method::GET, "/api/v1/requests/{number}"),
            Some(Access::Owner)
        );
        assert_eq!(
            p.access(&Method::HEAD, "/api/v1/requests/{x}"),
            Some(Access::Owner)
        );
        assert_eq!(p.access(&Method::POST, "/api/v1/requests/{id}"), None);
        assert!(p.knows_path("/api/v1/requests/{n}"));
        assert_eq!(p.methods("/api/v1/requests/{n}"), ["GET", "HEAD"]);
        assert!(!p.knows_path("/api/v1/requests"));
        assert_eq!(shape("/js/{name:.+}"), "/js/{}");
    }

    #[test]
    fn the_gate_admits_roles_by_class() {
        use Role::*;
        assert!(Access::Owner.admits(Agent) && Access::Owner.admits(Supervisor));
        assert!(!Access::Owner.admits(DepartmentStaff));
        assert!(!Access::Admin.admits(Agent));
        assert!(Access::Head.admits(DepartmentStaff) && !Access::Head.admits(Agent));
        assert!(!Access::Department.admits(Supervisor));
        assert!(!Access::Customer.signed_in() && Access::Staff.signed_in());
    }

    #[test]
    fn two_classes_for_one_route_are_an_error() {
        let p = Policy::new([&[
            rule(Method::GET, "/x/{a}", Access::Agent),
            rule(Method::GET, "/x/{b}", Access::Supervisor),
        ][..]]);
        let mut doc = utoipa::openapi::OpenApi::default();
        assert_eq!(p.annotate(&mut doc).unwrap_err().len(), 1);
    }
}
