//! Deterministic, realistic seed data for the `records` resource, and its schema.
//!
//! A seeded record is never stored as text: it is regenerated from `(seed, id)` whenever it is
//! read, so a million seeded records cost only their id and timestamps in memory. A record that is
//! updated is materialized and stored like any other.

use std::fmt::Write as _;

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

/// Appends `name` lowercased without spaces or hyphens (`van Rossum` -> `vanrossum`).
fn push_slug(out: &mut String, name: &str) {
    out.extend(
        name.chars()
            .filter(|c| *c != ' ' && *c != '-')
            .flat_map(char::to_lowercase),
    );
}

/// Appends `hundredths / 100` as `serde_json` writes that `f64`: the shortest text that reads back
/// as the same number, with at least one fractional digit (`47.61`, `47.6`, `47.0`).
fn push_hundredths(out: &mut String, hundredths: u64) {
    let (units, rest) = (hundredths / 100, hundredths % 100);
    // `fmt::Write` for `String` cannot fail.
    let _ = match (rest, rest % 10) {
        (0, _) => write!(out, "{units}.0"),
        (_, 0) => write!(out, "{units}.{}", rest / 10),
        _ => write!(out, "{units}.{rest:02}"),
    };
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
    ///
    /// Parsed from [`SeedGenerator::write_members`], the one place seeded values are drawn, so
    /// what a filter or an update sees is exactly what a read returns.
    pub fn fields(&self, id: u64) -> Map<String, Value> {
        let mut text = String::with_capacity(512);
        text.push('{');
        self.write_members(id, &mut text);
        text.push('}');
        serde_json::from_str(&text).unwrap_or_default()
    }

    /// Appends the members of seeded record `id`'s fields (without `id`, `created_at`,
    /// `updated_at`) as compact JSON, without the enclosing braces: `"active":true,...`.
    ///
    /// Keys come in sorted order, as `serde_json` writes a stored record, so a seeded record
    /// reads the same before and after an update rewrites it. Nothing is allocated but `out`'s
    /// growth: pages of seeded records are rendered here on every read, and a scan's speed is
    /// bounded by it. Every string drawn is plain ASCII from the tables above or digits, so none
    /// needs escaping (`seeded_text_is_the_values_serde_writes` checks the output byte for byte).
    pub fn write_members(&self, id: u64, out: &mut String) {
        // Draw every value first, in the fixed order that defines the seeded data; then write
        // them in key order.
        let mut rng = self.rng(id);
        let first = rng.pick(FIRST_NAMES);
        let last = rng.pick(LAST_NAMES);
        let domain = rng.pick(DOMAINS);
        let country_index = rng.below(COUNTRIES.len() as u64) as usize;
        let country = COUNTRIES.get(country_index).copied().unwrap_or("US");
        let calling_code = COUNTRY_CODES.get(country_index).copied().unwrap_or("1");
        let phone = (!rng.chance(0.1)).then(|| rng.below(1_000_000_000));
        let status = rng.pick(STATUSES);
        let age = 18 + rng.below(73);
        let score_cents = rng.below(10_001);
        let active = rng.chance(0.8);
        let birth = (1940 + rng.below(66), 1 + rng.below(12), 1 + rng.below(28));
        let login = (!rng.chance(0.2)).then(|| {
            (
                1 + rng.below(12),
                1 + rng.below(28),
                rng.below(24),
                rng.below(60),
                rng.below(60),
            )
        });
        let website = !rng.chance(0.5);
        let (a, b) = (rng.next_u64(), rng.next_u64());
        let street_number = 1 + rng.below(999);
        let street = rng.pick(STREETS);
        let city = rng.pick(CITIES);
        let postal_code = rng.below(100_000);
        let tag_count = rng.below(4) as usize;
        let mut tags = [""; 3];
        for tag in tags.iter_mut().take(tag_count) {
            *tag = rng.pick(TAGS);
        }
        let notes_city = rng.chance(0.3).then(|| rng.pick(CITIES));

        // `fmt::Write` for `String` cannot fail.
        let _ = write!(
            out,
            "\"active\":{active},\"address\":{{\"city\":\"{city}\",\"postal_code\":\"{postal_code:05}\",\"street\":\"{street_number} {street}\"}},\"age\":{age},\"birth_date\":\"{:04}-{:02}-{:02}\",\"country\":\"{country}\",\"email\":\"",
            birth.0, birth.1, birth.2
        );
        push_slug(out, first);
        out.push('.');
        push_slug(out, last);
        let _ = write!(
            out,
            "{id}@{domain}\",\"external_id\":\"{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}\",\"first_name\":\"{first}\",\"last_login_at\":",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0x0fff,
            0x8000 | (b >> 48 & 0x3fff),
            b & 0xffff_ffff_ffff
        );
        match login {
            Some((month, day, hour, minute, second)) => {
                let _ = write!(
                    out,
                    "\"2025-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z\""
                );
            }
            None => out.push_str("null"),
        }
        let _ = write!(out, ",\"last_name\":\"{last}\",");
        if let Some(notes_city) = notes_city {
            let _ = write!(
                out,
                "\"notes\":\"Met {first} at the {notes_city} meetup.\","
            );
        }
        match phone {
            Some(number) => {
                let _ = write!(out, "\"phone\":\"+{calling_code}{number:09}\",");
            }
            None => out.push_str("\"phone\":null,"),
        }
        out.push_str("\"score\":");
        push_hundredths(out, score_cents);
        let _ = write!(out, ",\"status\":\"{status}\",\"tags\":[");
        for (index, tag) in tags.iter().take(tag_count).enumerate() {
            if index > 0 {
                out.push(',');
            }
            let _ = write!(out, "\"{tag}\"");
        }
        out.push_str("],\"website\":");
        if website {
            out.push_str("\"https://");
            push_slug(out, last);
            let _ = write!(out, "{id}.example.com/\"");
        } else {
            out.push_str("null");
        }
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

    fn members(g: SeedGenerator, id: u64) -> String {
        let mut text = String::from("{");
        g.write_members(id, &mut text);
        text.push('}');
        text
    }

    #[test]
    fn seeded_data_does_not_drift() {
        // Record 1 of the default seed, as every earlier version rendered it: changing the draw
        // order or a table changes every seeded record users and tests have seen.
        let expected = r#"{"active":true,"address":{"city":"Fairview","postal_code":"04329","street":"85 Pine Rd"},"age":64,"birth_date":"1971-07-10","country":"US","email":"grace.lamarr1@example.com","external_id":"d040998b-86dd-41eb-a51e-d1852ada75e0","first_name":"Grace","last_login_at":null,"last_name":"Lamarr","phone":"+1365829957","score":47.61,"status":"lead","tags":["smb","enterprise"],"website":"https://lamarr1.example.com/"}"#;
        assert_eq!(members(SeedGenerator::new(DEFAULT_SEED), 1), expected);
        // Record 203 has a login time and notes, which record 1 lacks.
        let expected = r#"{"active":true,"address":{"city":"Riverton","postal_code":"08672","street":"314 Elm St"},"age":56,"birth_date":"1982-08-16","country":"US","email":"ken.thompson203@example.com","external_id":"d680bd8b-1655-488b-beaa-1dd64a0d90f2","first_name":"Ken","last_login_at":"2025-11-17T13:03:04Z","last_name":"Thompson","notes":"Met Ken at the Riverton meetup.","phone":null,"score":61.2,"status":"churned","tags":["partner","enterprise","beta"],"website":null}"#;
        assert_eq!(members(SeedGenerator::new(DEFAULT_SEED), 203), expected);
    }

    #[test]
    fn seeded_text_is_the_values_serde_writes() {
        // Parsing and writing back with serde_json gives the same bytes: sorted keys, no escape
        // missed, numbers as serde_json writes them.
        for seed in [DEFAULT_SEED, 1, 99] {
            let g = SeedGenerator::new(seed);
            for id in (1..3_000u64).chain([999_999, 1_000_000, u64::MAX]) {
                let text = members(g, id);
                let value: Value = serde_json::from_str(&text).expect("seeded text is JSON");
                assert_eq!(value.to_string(), text, "seed {seed} id {id}");
            }
        }
    }

    #[test]
    fn every_score_is_written_as_serde_writes_it() {
        for hundredths in 0..=10_000u64 {
            let mut text = String::new();
            push_hundredths(&mut text, hundredths);
            assert_eq!(text, json!(hundredths as f64 / 100.0).to_string());
        }
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
