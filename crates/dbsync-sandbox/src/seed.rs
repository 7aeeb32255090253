//! Deterministic, realistic seed data for the `records` resource, and its schema.
//!
//! A seeded record is never stored as text: it is regenerated from `(seed, id)` whenever it is
//! read, so a million seeded records cost only their id and timestamps in memory. A record that is
//! updated is materialized and stored like any other.

use serde_json::{Map, Value, json};

use crate::rng::SplitMix;

/// The seed used for `records` unless the builder sets another.
pub(crate) const DEFAULT_SEED: u64 = 0x5EED_DB5C;

/// 2024-01-01T00:00:00Z in unix seconds: seeded records are created from here on.
const BASE_UNIX_SECS: i64 = 1_704_067_200;

const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "Edsger",
    "Radia",
    "Tim",
    "Hedy",
    "John",
    "Katherine",
    "Niklaus",
    "Sophie",
    "Bjarne",
    "Anita",
    "Guido",
];
const LAST_NAMES: &[&str] = &[
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Berners-Lee",
    "Lamarr",
    "Backus",
    "Johnson",
    "Wirth",
    "Wilson",
    "Stroustrup",
    "Borg",
    "van Rossum",
];
const DOMAINS: &[&str] = &["example.com", "example.org", "mail.example.net"];
/// Allowed values of `country` (ISO 3166-1 alpha-2).
pub(crate) const COUNTRIES: &[&str] = &[
    "US", "GB", "DE", "FR", "CA", "AU", "JP", "BR", "IN", "ES", "NL", "SE",
];
const COUNTRY_CODES: &[&str] = &[
    "1", "44", "49", "33", "1", "61", "81", "55", "91", "34", "31", "46",
];
const STATUSES: &[&str] = &["lead", "customer", "churned"];
const CITIES: &[&str] = &[
    "Springfield",
    "Riverton",
    "Lakeside",
    "Hillview",
    "Fairview",
    "Oakridge",
];
const STREETS: &[&str] = &[
    "Main St", "Oak Ave", "Pine Rd", "Maple Dr", "Cedar Ln", "Elm St",
];
const TAGS: &[&str] = &[
    "vip",
    "newsletter",
    "trial",
    "partner",
    "beta",
    "enterprise",
    "smb",
];

/// The schema of the seeded `records` resource, in the contract's JSON shape.
///
/// It uses every type (`string`, `integer`, `number`, `boolean`, `date`, `datetime`, `object`,
/// `array`) and every constraint (`required`, `nullable`, `unique`, `min`, `max`, `min_length`,
/// `max_length`, `pattern`, `enum`, `format` email/url/uuid) of the contract.
pub fn records_schema_json() -> Value {
    json!({
        "fields": [
            {"name": "email", "type": "string", "format": "email", "required": true, "unique": true, "max_length": 254},
            {"name": "first_name", "type": "string", "required": true, "min_length": 1, "max_length": 100},
            {"name": "last_name", "type": "string", "required": true, "min_length": 1, "max_length": 100},
            {"name": "phone", "type": "string", "nullable": true, "pattern": "^\\+[1-9][0-9]{7,14}$"},
            {"name": "country", "type": "string", "required": true, "enum": COUNTRIES},
            {"name": "status", "type": "string", "enum": STATUSES},
            {"name": "age", "type": "integer", "min": 18, "max": 120},
            {"name": "score", "type": "number", "min": 0, "max": 100},
            {"name": "active", "type": "boolean", "required": true},
            {"name": "birth_date", "type": "date"},
            {"name": "last_login_at", "type": "datetime", "nullable": true},
            {"name": "website", "type": "string", "format": "url", "nullable": true},
            {"name": "external_id", "type": "string", "format": "uuid"},
            {"name": "address", "type": "object"},
            {"name": "tags", "type": "array"},
            {"name": "notes", "type": "string", "max_length": 500, "nullable": true}
        ],
        "additional_fields": false
    })
}

/// The schema of the seeded `records` resource ([`records_schema_json`] parsed).
pub fn records_schema() -> Result<dbsync_validate::Schema, dbsync_validate::SchemaError> {
    dbsync_validate::Schema::from_json(&records_schema_json())
}

/// Generates the seeded records of one resource.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeedGenerator {
    seed: u64,
}

impl SeedGenerator {
    pub fn new(seed: u64) -> Self {
        Self { seed }
    }

    fn rng(&self, id: u64) -> SplitMix {
        SplitMix::new(self.seed ^ crate::rng::mix(id))
    }

    /// `(created_at, updated_at)` of seeded record `id`, in unix microseconds.
    pub fn timestamps(&self, id: u64) -> (i64, i64) {
        let mut rng = SplitMix::new(!self.seed ^ crate::rng::mix(id));
        let created = BASE_UNIX_SECS + (id as i64).saturating_mul(60) + rng.below(60) as i64;
        let updated = created + rng.below(30 * 24 * 3600) as i64;
        (created * 1_000_000, updated * 1_000_000)
    }

    /// The fields (without `id`, `created_at`, `updated_at`) of seeded record `id`.
    pub fn fields(&self, id: u64) -> Map<String, Value> {
        let mut rng = self.rng(id);
        let first = rng.pick(FIRST_NAMES);
        let last = rng.pick(LAST_NAMES);
        let domain = rng.pick(DOMAINS);
        let country_index = rng.below(COUNTRIES.len() as u64) as usize;
        let country = COUNTRIES.get(country_index).copied().unwrap_or("US");
        let calling_code = COUNTRY_CODES.get(country_index).copied().unwrap_or("1");
        let slug = |s: &str| s.to_lowercase().replace([' ', '-'], "");

        let mut m = Map::new();
        m.insert(
            "email".into(),
            Value::String(format!("{}.{}{}@{}", slug(first), slug(last), id, domain)),
        );
        m.insert("first_name".into(), first.into());
        m.insert("last_name".into(), last.into());
        let phone = if rng.chance(0.1) {
            Value::Null
        } else {
            Value::String(format!("+{}{:09}", calling_code, rng.below(1_000_000_000)))
        };
        m.insert("phone".into(), phone);
        m.insert("country".into(), country.into());
        m.insert("status".into(), rng.pick(STATUSES).into());
        m.insert("age".into(), (18 + rng.below(73)).into());
        m.insert("score".into(), json!(rng.below(10_001) as f64 / 100.0));
        m.insert("active".into(), rng.chance(0.8).into());
        m.insert(
            "birth_date".into(),
            format!(
                "{:04}-{:02}-{:02}",
                1940 + rng.below(66),
                1 + rng.below(12),
                1 + rng.below(28)
            )
            .into(),
        );
        let login = if rng.chance(0.2) {
            Value::Null
        } else {
            format!(
                "2025-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                1 + rng.below(12),
                1 + rng.below(28),
                rng.below(24),
                rng.below(60),
                rng.below(60)
            )
            .into()
        };
        m.insert("last_login_at".into(), login);
        let website = if rng.chance(0.5) {
            Value::Null
        } else {
            format!("https://{}{}.example.com/", slug(last), id).into()
        };
        m.insert("website".into(), website);
        let (a, b) = (rng.next_u64(), rng.next_u64());
        m.insert(
            "external_id".into(),
            format!(
                "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0x0fff,
                0x8000 | (b >> 48 & 0x3fff),
                b & 0xffff_ffff_ffff
            )
            .into(),
        );
        m.insert(
            "address".into(),
            json!({
                "street": format!("{} {}", 1 + rng.below(999), rng.pick(STREETS)),
                "city": rng.pick(CITIES),
                "postal_code": format!("{:05}", rng.below(100_000)),
            }),
        );
        let tag_count = rng.below(4);
        let tags: Vec<Value> = (0..tag_count).map(|_| rng.pick(TAGS).into()).collect();
        m.insert("tags".into(), Value::Array(tags));
        if rng.chance(0.3) {
            m.insert(
                "notes".into(),
                format!("Met {first} at the {} meetup.", rng.pick(CITIES)).into(),
            );
        }
        m
    }

    /// The id of the seeded record that would own `value` in unique field `field`, if any.
    ///
    /// The caller must still check that the record is seeded (not since updated or deleted) and
    /// that its value really is `value`.
    pub fn candidate_owner(&self, field: &str, value: &Value) -> Option<u64> {
        if field != "email" {
            return None;
        }
        let local = value.as_str()?.split('@').next()?;
        let digits_start = local
            .rfind(|c: char| !c.is_ascii_digit())
            .map_or(0, |i| i + 1);
        local.get(digits_start..)?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeding_is_deterministic() {
        let g = SeedGenerator::new(DEFAULT_SEED);
        assert_eq!(g.fields(42), g.fields(42));
        assert_ne!(g.fields(42), g.fields(43));
        assert_eq!(g.timestamps(5), g.timestamps(5));
        assert_ne!(
            SeedGenerator::new(1).fields(42),
            SeedGenerator::new(2).fields(42)
        );
    }

    #[test]
    fn email_owner_is_recoverable() {
        let g = SeedGenerator::new(3);
        for id in [1u64, 9, 10, 12345] {
            let fields = g.fields(id);
            let email = fields.get("email").cloned().unwrap_or(Value::Null);
            assert_eq!(g.candidate_owner("email", &email), Some(id));
        }
    }

    #[test]
    fn seeded_records_satisfy_the_schema() {
        let schema = records_schema().expect("records schema is valid");
        for seed in [DEFAULT_SEED, 1, 99] {
            let g = SeedGenerator::new(seed);
            for id in 1..2_000u64 {
                let record = Value::Object(g.fields(id));
                assert_eq!(
                    schema.validate(&record),
                    Ok(()),
                    "seed {seed} id {id}: {record}"
                );
            }
        }
    }

    #[test]
    fn timestamps_are_ordered() {
        let g = SeedGenerator::new(3);
        let (c, u) = g.timestamps(10);
        assert!(c <= u);
    }
}
