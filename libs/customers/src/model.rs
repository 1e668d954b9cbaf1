//! The customer-360 model: what Billing and CRM know about one customer, as every source gives it
//! (the HTTP adapter's JSON contract, CONTRACT.md, is this model's JSON).

use komek_domain::{ContactError, Email, Lang, Msisdn};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

/// How a customer is looked up, whatever the channel they wrote on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Contact {
    Phone(Msisdn),
    Email(Email),
}

impl Contact {
    /// A phone number (any spelling `Msisdn::parse` accepts) or an email address.
    pub fn parse(raw: &str) -> Result<Self, ContactError> {
        if raw.contains('@') {
            Email::parse(raw).map(Contact::Email)
        } else {
            Msisdn::parse(raw).map(Contact::Phone)
        }
    }

    /// The normalised value: `+77011234567` or `name@example.kz`.
    pub fn as_str(&self) -> &str {
        match self {
            Contact::Phone(m) => m.as_str(),
            Contact::Email(e) => e.as_str(),
        }
    }
}

impl std::fmt::Display for Contact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who the customer is (CRM) and where their account stands (Billing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Profile {
    /// E.164, e.g. `+77011234567`.
    #[schema(value_type = String, example = "+77011234567")]
    pub msisdn: Msisdn,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Email>,
    pub name: String,
    /// The language the customer is served in: `kk`, `ru` or `en`.
    pub language: Lang,
    /// The operator's customer segment (`mass`, `vip`, `business`, ...); empty when unknown.
    #[serde(default)]
    pub segment: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub tariff: String,
    /// Account balance in whole tenge; negative when the customer owes.
    #[serde(default)]
    pub balance_tenge: i64,
}

/// One charge or one payment on the customer's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Movement {
    /// `YYYY-MM-DD`.
    #[serde(with = "iso_date")]
    #[schema(value_type = String, format = Date, example = "2026-03-01")]
    pub date: Date,
    /// Whole tenge, positive.
    pub amount_tenge: i64,
    pub description: String,
}

/// An active service or subscription (CRM).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Service {
    /// The operator's code, e.g. `roaming-tr`.
    pub code: String,
    pub name: String,
    /// Active since, `YYYY-MM-DD`.
    #[serde(with = "iso_date")]
    #[schema(value_type = String, format = Date, example = "2025-06-01")]
    pub since: Date,
    /// Monthly fee in whole tenge; 0 for a free service.
    #[serde(default)]
    pub monthly_fee_tenge: i64,
}

/// Everything a source knows about one customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Customer360 {
    pub profile: Profile,
    /// Recent charges (Billing), any order; the view sorts them newest first.
    #[serde(default)]
    pub charges: Vec<Movement>,
    /// Recent payments (Billing), any order.
    #[serde(default)]
    pub payments: Vec<Movement>,
    /// Active services and subscriptions (CRM).
    #[serde(default)]
    pub services: Vec<Service>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_parse_either_way() {
        assert_eq!(
            Contact::parse("8 701 123 45 67").unwrap().as_str(),
            "+77011234567"
        );
        assert_eq!(Contact::parse(" A@X.kz ").unwrap().as_str(), "a@x.kz");
        assert!(Contact::parse("12345").is_err());
        assert!(Contact::parse("a@b").is_err());
    }

    #[test]
    fn the_contract_json_round_trips_with_defaults() {
        let c: Customer360 = serde_json::from_str(
            r#"{"profile":{"msisdn":"+77011234567","name":"Асқар","language":"kk"},
                "charges":[{"date":"2026-03-01","amount_tenge":2990,"description":"Тариф"}],
                "extra":"ignored"}"#,
        )
        .unwrap();
        assert_eq!(c.profile.segment, "");
        assert_eq!(c.charges[0].date.to_string(), "2026-03-01");
        assert!(c.payments.is_empty() && c.services.is_empty());
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["charges"][0]["date"], "2026-03-01");
        assert!(json["profile"].get("email").is_none());
    }
}
