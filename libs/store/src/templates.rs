//! Reply templates: one Redis hash `{prefix}:templates`, template id -> JSON
//! ([`komek_domain::template::Template`]). Supervisors change them through the workspace API; the
//! shipped ones ([`SEED`]) are written once by [`Store::seed_templates`], and a set of the seeded ids
//! makes sure a template a supervisor deleted does not come back at the next start.

use komek_domain::template::Template;
use komek_domain::{Category, Lang};
use redis::AsyncCommands;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::commit::{Store, StoreError};

/// Who wrote the shipped templates.
pub const SEED_AUTHOR: &str = "system:seed";

/// One shipped template: (number, category, language, name, body). The number makes its fixed id.
pub type SeedTemplate = (u8, Category, Lang, &'static str, &'static str);

/// The templates Komek ships with: one per language for billing, network, internet, roaming and
/// other. They open with `{customer_name}`, which is the name or a polite address.
pub const SEED: &[SeedTemplate] = &[
    (
        1,
        Category::Billing,
        Lang::Kk,
        "Есептен шығаруды тексеру",
        "{customer_name}, сәлеметсіз бе! {number} нөмірлі өтінішіңіз бойынша шотыңыздағы есептен шығаруларды \
         тексеріп жатырмыз. Қате есептен шығарылған сома анықталса, ол балансыңызға қайтарылады. Жауапты \
         {deadline} дейін береміз. Рахмет, Komek.",
    ),
    (
        2,
        Category::Billing,
        Lang::Ru,
        "Проверка списаний",
        "{customer_name}, здравствуйте! По вашему обращению {number} мы проверяем списания с вашего счёта. \
         Если списание окажется ошибочным, сумма будет возвращена на баланс. Ответим до {deadline}. \
         Спасибо, что обратились в Komek.",
    ),
    (
        3,
        Category::Billing,
        Lang::En,
        "Checking charges",
        "{customer_name}, thank you for contacting Komek. We are checking the charges on your account under \
         request {number}. If a charge turns out to be wrong, the amount will be returned to your balance. \
         We will answer by {deadline}.",
    ),
    (
        4,
        Category::Network,
        Lang::Kk,
        "Байланыс сапасын тексеру",
        "{customer_name}, сәлеметсіз бе! {number} нөмірлі өтінішіңізді желі мамандарына жібердік: олар сіз \
         көрсеткен аймақтағы байланыс сапасын тексереді. Телефонды қайта қосып көруіңізді сұраймыз. \
         Нәтижесін {deadline} дейін хабарлаймыз. Komek",
    ),
    (
        5,
        Category::Network,
        Lang::Ru,
        "Проверка качества связи",
        "{customer_name}, здравствуйте! Ваше обращение {number} передано специалистам сети: они проверят \
         качество связи в указанном районе. Пожалуйста, попробуйте перезагрузить телефон. О результате \
         сообщим до {deadline}. Komek",
    ),
    (
        6,
        Category::Network,
        Lang::En,
        "Checking the coverage",
        "{customer_name}, thank you for your message. Request {number} has been passed to our network \
         engineers, who will check the coverage in your area. Meanwhile, please try restarting your phone. \
         We will let you know the result by {deadline}. Komek",
    ),
    (
        7,
        Category::Internet,
        Lang::Kk,
        "Мобильді интернет баптаулары",
        "{customer_name}, сәлеметсіз бе! {number} нөмірлі өтінішіңіз бойынша мобильді интернет баптауларын \
         тексеріп жатырмыз. Телефоныңызда «Мобильді деректер» қосулы екенін және кіру нүктесі (APN) \
         «internet» екенін тексеруіңізді сұраймыз. Жауапты {deadline} дейін береміз. Komek",
    ),
    (
        8,
        Category::Internet,
        Lang::Ru,
        "Настройки мобильного интернета",
        "{customer_name}, здравствуйте! По обращению {number} мы проверяем настройки мобильного интернета. \
         Пожалуйста, убедитесь, что в телефоне включена «Мобильная передача данных», а точка доступа (APN) \
         — «internet». Ответим до {deadline}. Komek",
    ),
    (
        9,
        Category::Internet,
        Lang::En,
        "Mobile data settings",
        "{customer_name}, thank you for contacting Komek. We are checking your mobile data settings under \
         request {number}. Please make sure mobile data is turned on and the access point (APN) is set to \
         \"internet\". We will answer by {deadline}.",
    ),
    (
        10,
        Category::Roaming,
        Lang::Kk,
        "Роумингті тексеру",
        "{customer_name}, сәлеметсіз бе! {number} нөмірлі өтінішіңіз бойынша роуминг қызметінің қосылуын \
         тексеріп жатырмыз. Шетелде телефон баптауларында «Деректер роумингі» қосулы болуы керек. Жауапты \
         {deadline} дейін береміз. Сапарыңыз сәтті өтсін! Komek",
    ),
    (
        11,
        Category::Roaming,
        Lang::Ru,
        "Проверка роуминга",
        "{customer_name}, здравствуйте! По обращению {number} мы проверяем подключение услуги роуминга. \
         За границей в настройках телефона должен быть включён «Интернет-роуминг». Ответим до {deadline}. \
         Приятной поездки! Komek",
    ),
    (
        12,
        Category::Roaming,
        Lang::En,
        "Checking roaming",
        "{customer_name}, thank you for contacting Komek. We are checking the roaming service on your number \
         under request {number}. Abroad, please make sure data roaming is turned on in your phone's settings. \
         We will answer by {deadline}. Have a good trip!",
    ),
    (
        13,
        Category::Other,
        Lang::Kk,
        "Өтініш жұмысқа алынды",
        "{customer_name}, сәлеметсіз бе! {number} нөмірлі өтінішіңіз жұмысқа алынды. Жауапты {deadline} \
         дейін береміз. Бізді таңдағаныңызға рахмет! Komek",
    ),
    (
        14,
        Category::Other,
        Lang::Ru,
        "Обращение принято в работу",
        "{customer_name}, здравствуйте! Ваше обращение {number} принято в работу. Мы ответим до {deadline}. \
         Спасибо, что выбираете Komek!",
    ),
    (
        15,
        Category::Other,
        Lang::En,
        "Request in progress",
        "{customer_name}, thank you for contacting Komek. Your request {number} is being worked on, and we \
         will answer by {deadline}.",
    ),
];

/// The fixed id of the shipped template number `n` (`6b6f6d65-6b00-4000-8000-0000000000nn`).
pub fn seed_id(n: u8) -> Uuid {
    Uuid::from_u128(0x6b6f6d65_6b00_4000_8000_000000000000 | u128::from(n))
}

fn corrupt(key: &str, source: serde_json::Error) -> StoreError {
    StoreError::Corrupt {
        key: key.to_owned(),
        source,
    }
}

impl Store {
    /// Templates, optionally of one category and/or language, ordered by category, language, name.
    pub async fn list_templates(
        &self,
        category: Option<Category>,
        language: Option<Lang>,
    ) -> Result<Vec<Template>, StoreError> {
        let key = self.keys().templates();
        let mut c = self.conn();
        let all: Vec<String> = c.hvals(&key).await?;
        let mut out = Vec::with_capacity(all.len());
        for raw in all {
            match serde_json::from_str::<Template>(&raw) {
                Ok(t)
                    if category.is_none_or(|c| c == t.category)
                        && language.is_none_or(|l| l == t.language) =>
                {
                    out.push(t)
                }
                Ok(_) => {}
                // One bad entry must not hide all the others from the agents.
                Err(e) => {
                    tracing::warn!(key = %key, error = %e, "a stored template cannot be read; skipped")
                }
            }
        }
        out.sort_by(|a, b| {
            (a.category.as_str(), a.language.as_str(), &a.name).cmp(&(
                b.category.as_str(),
                b.language.as_str(),
                &b.name,
            ))
        });
        Ok(out)
    }

    pub async fn template(&self, id: Uuid) -> Result<Option<Template>, StoreError> {
        let key = self.keys().templates();
        let mut c = self.conn();
        let raw: Option<String> = c.hget(&key, id.to_string()).await?;
        raw.map(|s| serde_json::from_str(&s).map_err(|e| corrupt(&key, e)))
            .transpose()
    }

    /// Creates or replaces a template (last writer wins).
    pub async fn put_template(&self, t: &Template) -> Result<(), StoreError> {
        let mut c = self.conn();
        let json = serde_json::to_string(t).map_err(|e| corrupt(&self.keys().templates(), e))?;
        let _: i64 = c
            .hset(self.keys().templates(), t.id.to_string(), json)
            .await?;
        Ok(())
    }

    /// Deletes a template; whether it existed.
    pub async fn delete_template(&self, id: Uuid) -> Result<bool, StoreError> {
        let mut c = self.conn();
        let n: i64 = c.hdel(self.keys().templates(), id.to_string()).await?;
        Ok(n > 0)
    }

    /// Writes each shipped template that was never seeded before; returns how many it wrote.
    /// Edited ones are left as they are, and deleted ones stay deleted.
    pub async fn seed_templates(&self) -> Result<usize, StoreError> {
        let (key, seeded) = (self.keys().templates(), self.keys().templates_seeded());
        let now = OffsetDateTime::now_utc();
        let mut c = self.conn();
        let mut added = 0;
        for (n, category, language, name, body) in SEED {
            let id = seed_id(*n).to_string();
            let done: bool = c.sismember(&seeded, &id).await?;
            if done {
                continue;
            }
            let t = Template {
                id: seed_id(*n),
                category: *category,
                language: *language,
                name: (*name).to_owned(),
                body: (*body).to_owned(),
                updated_by: SEED_AUTHOR.to_owned(),
                updated_at: now,
            };
            let json = serde_json::to_string(&t).map_err(|e| corrupt(&key, e))?;
            // Template first, then the mark: a crash in between only repeats a harmless HSETNX.
            let written: bool = c.hset_nx(&key, &id, json).await?;
            let _: i64 = c.sadd(&seeded, &id).await?;
            added += usize::from(written);
        }
        Ok(added)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use komek_domain::template::unknown_placeholders;

    use super::*;

    /// Every category the brief names has a template in each language, with known placeholders only.
    #[test]
    fn seed_covers_each_category_and_language() {
        for category in [
            Category::Billing,
            Category::Network,
            Category::Internet,
            Category::Roaming,
            Category::Other,
        ] {
            for lang in [Lang::Kk, Lang::Ru, Lang::En] {
                assert!(
                    SEED.iter().any(|s| s.1 == category && s.2 == lang),
                    "{category:?} {lang:?}"
                );
            }
        }
        for (_, _, lang, _, body) in SEED {
            assert!(unknown_placeholders(body).is_empty(), "{body}");
            for p in ["{customer_name}", "{number}", "{deadline}"] {
                assert!(body.contains(p), "{p} in {body}");
            }
            assert_eq!(
                komek_domain::lang::detect(body.replace("internet", "").as_str()),
                *lang,
                "{body}"
            );
        }
        let ids: HashSet<Uuid> = SEED.iter().map(|s| seed_id(s.0)).collect();
        assert_eq!(ids.len(), SEED.len(), "seed ids are distinct");
    }
}
