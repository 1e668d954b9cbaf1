//! From a submission to a stored request: validate, detect language, classify, number, set the
//! deadlines, write the acknowledgment, and store it with its `request.created` event in one commit.

use komek_domain::calendar::Calendar;
use komek_domain::events::{Envelope, kind};
use komek_domain::{
    Category, Channel, Customer, Email, Lang, Message, MessageKind, Msisdn, Priority, Request,
    RequestId, RequestNumber, Status, classify, lang,
};
use komek_settings::Settings;
use komek_store::Store;
use komek_store::requests::Created;
use komek_web::{ApiError, FieldError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use utoipa::ToSchema;

const MAX_TEXT: usize = 10_000;
const MAX_LINE: usize = 200;

/// The body of `POST /api/v1/requests`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    pub channel: Channel,
    pub customer: CustomerIn,
    /// One line; controls are removed.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub subject: Option<String>,
    /// Controls other than newline and tab are removed; then not blank.
    #[schema(format = "loose-text", max_length = 10000)]
    pub text: String,
    /// kk, ru or en; detected from the text when absent.
    #[serde(default)]
    pub language: Option<Lang>,
}

/// Who to answer: a phone number or an email (at least one), and a name.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerIn {
    #[serde(default)]
    pub msisdn: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// [`CustomerIn`]'s fields as the document shows them; [`CustomerIn`]'s schema adds that one
/// contact is required, which a derived schema cannot say.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct CustomerFields {
    /// E.164 (`+77011234567`) or Kazakhstan's `87011234567`; spaces, `-` and parentheses allowed.
    #[schema(format = "msisdn-or-blank")]
    msisdn: Option<String>,
    #[schema(format = "email-address-or-blank", max_length = 254)]
    email: Option<String>,
    /// One line; controls are removed.
    #[schema(max_length = 200)]
    name: Option<String>,
}

impl utoipa::PartialSchema for CustomerIn {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{
            AllOfBuilder, AnyOfBuilder, ObjectBuilder, SchemaFormat, Type,
        };
        let given = |field: &str, format: &str| {
            ObjectBuilder::new()
                .property(
                    field,
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .format(Some(SchemaFormat::Custom(format.into()))),
                )
                .required(field)
        };
        AllOfBuilder::new()
            .item(CustomerFields::schema())
            .item(
                AnyOfBuilder::new()
                    .item(given("msisdn", "msisdn"))
                    .item(given("email", "email-address")),
            )
            .into()
    }
}

impl ToSchema for CustomerIn {}

/// One line of text: controls (CR/LF included) removed, trimmed.
pub(crate) fn one_line(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Free text: controls other than newline and tab removed, trimmed.
fn free_text(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A submission whose every field was checked, once: what [`accept_as`] stores. Made with
/// `Valid::try_from(&submission)`, which reports every bad field at once (422).
#[derive(Debug, Clone)]
pub struct Valid {
    pub channel: Channel,
    pub customer: Customer,
    /// One line, at most 200 characters.
    pub subject: Option<String>,
    /// Not empty, at most 10,000 characters, controls other than newline and tab removed.
    pub text: String,
    /// As asked; detected from the text when `None`.
    pub language: Option<Lang>,
    /// The submission as sent, fingerprinted: what an Idempotency-Key is compared with.
    pub fingerprint: String,
}

impl TryFrom<&Submission> for Valid {
    type Error = ApiError;

    fn try_from(s: &Submission) -> Result<Self, ApiError> {
        let (customer, subject, text) = validate(s)?;
        Ok(Self {
            channel: s.channel,
            customer,
            subject,
            text,
            language: s.language,
            fingerprint: fingerprint(s),
        })
    }
}

impl TryFrom<Submission> for Valid {
    type Error = ApiError;

    fn try_from(s: Submission) -> Result<Self, ApiError> {
        Self::try_from(&s)
    }
}

/// Checks every field and reports all problems at once.
fn validate(s: &Submission) -> Result<(Customer, Option<String>, String), ApiError> {
    let mut errors = Vec::new();
    let mut bad = |field: &str, message: &str| {
        errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        })
    };
    let msisdn = match s
        .customer
        .msisdn
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        None => None,
        Some(m) => match Msisdn::parse(m) {
            Ok(m) => Some(m),
            Err(e) => {
                bad("customer.msisdn", &e.to_string());
                None
            }
        },
    };
    let email = match s
        .customer
        .email
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        None => None,
        Some(m) => match Email::parse(m) {
            Ok(m) => Some(m),
            Err(e) => {
                bad("customer.email", &e.to_string());
                None
            }
        },
    };
    if s.customer
        .msisdn
        .as_deref()
        .is_none_or(|m| m.trim().is_empty())
        && s.customer
            .email
            .as_deref()
            .is_none_or(|m| m.trim().is_empty())
    {
        bad(
            "customer",
            "give a phone number (msisdn) or an email, so we can answer",
        );
    }
    let name = s
        .customer
        .name
        .as_deref()
        .map(one_line)
        .filter(|n| !n.is_empty());
    if let Some(Err(e)) = name
        .as_deref()
        .map(komek_domain::text::BoundedText::<MAX_LINE>::parse)
    {
        bad("customer.name", &e.to_string());
    }
    let subject = s.subject.as_deref().map(one_line).filter(|n| !n.is_empty());
    if let Some(Err(e)) = subject
        .as_deref()
        .map(komek_domain::text::BoundedText::<MAX_LINE>::parse)
    {
        bad("subject", &e.to_string());
    }
    let text = free_text(&s.text);
    if let Err(e) = komek_domain::text::BoundedText::<MAX_TEXT>::parse(&text) {
        bad("text", &e.to_string());
    }
    if errors.is_empty() {
        Ok((
            Customer {
                msisdn,
                email,
                name,
            },
            subject,
            text,
        ))
    } else {
        Err(ApiError::Invalid(errors))
    }
}

/// Refused fields as one line, for the channels that answer in text (an SMS reply, an SMTP
/// status): "field: message; field: message".
pub fn why_invalid(errs: &[FieldError]) -> String {
    errs.iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Same body, same fingerprint: what an Idempotency-Key is compared with.
pub fn fingerprint(s: &Submission) -> String {
    hex::encode(Sha256::digest(serde_json::to_vec(s).unwrap_or_default()))
}

/// Words of a text, for comparing two contacts.
fn words(text: &str) -> std::collections::BTreeSet<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .map(str::to_owned)
        .collect()
}

/// Whether two texts say the same thing: most of their words are shared (Jaccard ≥ 0.6).
pub fn same_thing(a: &str, b: &str) -> bool {
    let (a, b) = (words(a), words(b));
    if a.is_empty() || b.is_empty() {
        return false;
    }
    let shared = a.intersection(&b).count();
    let all = a.union(&b).count();
    shared * 10 >= all * 6
}

/// The customer's open request, made within the duplicate window, that says the same thing.
async fn duplicate_of(
    store: &Store,
    settings: &Settings,
    customer: &komek_domain::Customer,
    text: &str,
    now: OffsetDateTime,
) -> Result<Option<Request>, ApiError> {
    let window = settings.requests.duplicate_window;
    if window.is_zero() {
        return Ok(None);
    }
    let since = i64::try_from((now - window).unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let k = store.keys();
    let mut keys = Vec::new();
    if let Some(m) = &customer.msisdn {
        keys.push(k.ix_phone(m.as_str()));
    }
    if let Some(e) = &customer.email {
        keys.push(k.ix_email(e.as_str()));
    }
    for key in keys {
        for id in store.ids_since(&key, since, 20).await? {
            if let Some(r) = store.request(id).await?
                && r.status.is_open()
                && same_thing(&r.text, text)
            {
                return Ok(Some(r));
            }
        }
    }
    Ok(None)
}

/// A call or a visit an agent logs on the customer's behalf.
#[derive(Debug, Clone)]
pub struct Logged {
    /// The agent who took the call or the visit; they own the request.
    pub agent: String,
    /// The agent's choice of category, instead of the automatic one.
    pub category: Option<Category>,
    /// Solved during the contact itself: the request is resolved at once (first-contact resolution).
    pub resolution: Option<String>,
}

pub async fn accept(
    store: &Store,
    settings: &Settings,
    calendar: &Calendar,
    submission: &Submission,
    idempotency_key: Option<&str>,
) -> Result<Created, ApiError> {
    let valid = Valid::try_from(submission)?;
    accept_as(store, settings, calendar, &valid, idempotency_key, None).await
}

/// [`accept`] for a submission already validated, and for a contact logged by an agent: the request is created owned by the agent, with
/// the resolution when it was solved at once; the workspace completes the assignment (and the
/// resolution) when it takes the request in.
pub async fn accept_as(
    store: &Store,
    settings: &Settings,
    calendar: &Calendar,
    submission: &Valid,
    idempotency_key: Option<&str>,
    logged: Option<&Logged>,
) -> Result<Created, ApiError> {
    let customer = submission.customer.clone();
    let subject = submission.subject.clone();
    let text = submission.text.clone();
    let fp = submission.fingerprint.clone();
    if let Some(key) = idempotency_key
        && store.idempotency(key).await?.is_some()
    {
        return Ok(store.replay(key, &fp).await?);
    }
    let now = OffsetDateTime::now_utc();
    if logged.is_none()
        && let Some(first) = duplicate_of(store, settings, &customer, &text, now).await?
    {
        let payload = komek_domain::events::CustomerMessage {
            number: first.number.clone(),
            channel: submission.channel,
            text: text.clone(),
        };
        let mut event = Envelope::new(kind::REQUEST_LINKED, first.id, &payload, now);
        komek_bus::stamp(&mut event);
        store.enqueue_event(&event).await?;
        tracing::info!(request_id = %first.id, number = %first.number, channel = ?submission.channel, "contact linked to an open request");
        return Ok(Created::Replayed(first));
    }
    let language = submission.language.unwrap_or_else(|| lang::detect(&text));
    let (classified, priority): (Category, Priority) =
        classify::classify(subject.as_deref(), &text);
    let category = logged.and_then(|l| l.category).unwrap_or(classified);
    let number =
        RequestNumber::format(&settings.requests.number_prefix, store.next_number().await?);
    let (due, _) = settings
        .deadlines
        .due(calendar, category, priority, submission.channel, now);
    let ack_text = komek_i18n::customer::acknowledgment(language, &number, due.resolution);
    let request = Request {
        id: RequestId::new(),
        number,
        version: 0,
        channel: submission.channel,
        customer,
        language,
        category,
        priority,
        subject,
        text,
        status: Status::New,
        owner: logged.map(|l| l.agent.clone()),
        due,
        created_at: now,
        first_response_at: None,
        resolved_at: None,
        resolution: logged.and_then(|l| l.resolution.clone()),
        escalation: None,
        messages: vec![Message {
            kind: MessageKind::Acknowledgment,
            text: ack_text,
            at: now,
        }],
        notes: Vec::new(),
        trace: komek_telemetry::current_traceparent(),
        paused_at: None,
        problem: None,
    };
    let actor = match logged {
        Some(l) => format!("agent:{}", l.agent),
        None => format!("customer:{}", submission.channel.as_str()),
    };
    let (history, mut event) = komek_domain::events::created(&request, &actor);
    komek_bus::stamp(&mut event);
    let ttl = settings.requests.idempotency_ttl.as_secs();
    let created = store
        .create_request(
            &request,
            &history,
            &event,
            idempotency_key.map(|k| (k, fp.as_str())),
            ttl,
        )
        .await?;
    if let Created::New(r) = &created {
        tracing::info!(request_id = %r.id, number = %r.number, language = r.language.as_str(), category = r.category.as_str(), "request accepted");
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(msisdn: Option<&str>, email: Option<&str>, text: &str) -> Submission {
        Submission {
            channel: Channel::Web,
            customer: CustomerIn {
                msisdn: msisdn.map(Into::into),
                email: email.map(Into::into),
                name: Some("A\r\nB".into()),
            },
            subject: None,
            text: text.into(),
            language: None,
        }
    }

    #[test]
    fn needs_a_contact_and_text() {
        let ApiError::Invalid(errs) = validate(&sub(None, None, "  ")).unwrap_err() else {
            panic!()
        };
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["customer", "text"]);
    }

    #[test]
    fn names_bad_contacts_and_strips_newlines() {
        let ApiError::Invalid(errs) = validate(&sub(Some("12"), Some("x@"), "hi")).unwrap_err()
        else {
            panic!()
        };
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["customer.msisdn", "customer.email"]);
        let (c, _, _) = validate(&sub(Some("87011234567"), None, "hi")).unwrap();
        assert_eq!(c.name.as_deref(), Some("AB"));
        assert_eq!(c.msisdn.unwrap().as_str(), "+77011234567");
    }

    #[test]
    fn fingerprint_follows_the_body() {
        assert_eq!(
            fingerprint(&sub(Some("+77011234567"), None, "a")),
            fingerprint(&sub(Some("+77011234567"), None, "a"))
        );
        assert_ne!(
            fingerprint(&sub(Some("+77011234567"), None, "a")),
            fingerprint(&sub(Some("+77011234567"), None, "b"))
        );
    }
}
