//! `Schema::to_rust_struct`: the output for a schema with every type and awkward names matches
//! a golden file, and that file compiles and round-trips records (included below).

use dbsync_validate::{Field, Format, Schema};
use serde_json::json;

fn contact_schema() -> Schema {
    Schema::builder()
        .field(
            Field::string("email")
                .required()
                .unique()
                .format(Format::Email)
                .max_length(254),
        )
        .field(Field::string("first name").min_length(1).max_length(50))
        .field(Field::string("lastName").required().nullable())
        .field(Field::string("type").enum_values(["lead", "customer"]))
        .field(Field::string("self").pattern("^[a-z\n]+$"))
        .field(Field::string("e-mail").format(Format::Url))
        .field(Field::string("e_mail").format(Format::Uuid))
        .field(Field::integer("123abc").min(0))
        .field(Field::number("ünï").max(1.5))
        .field(Field::boolean("vip").required())
        .field(Field::date("birthday").nullable())
        .field(Field::datetime("signed_up_at").required())
        .field(Field::object("meta"))
        .field(Field::array("tags").max_length(5))
        .field(Field::datetime("created_at"))
        .field(Field::string("extra"))
        .additional_fields(true)
        .build()
        .unwrap()
}

const GOLDEN: &str = include_str!("golden/contact.rs");

#[test]
fn output_matches_the_golden_file() {
    let code = contact_schema().to_rust_struct("crm contact");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/contact.rs"),
            &code,
        )
        .unwrap();
    }
    assert_eq!(code, GOLDEN);
}

#[test]
fn field_names_are_valid_identifiers() {
    let code = contact_schema().to_rust_struct("crm contact");
    let mut count = 0;
    for line in code.lines() {
        let Some(rest) = line.strip_prefix("    pub ") else {
            continue;
        };
        let ident = rest.split(':').next().unwrap();
        let bare = ident.strip_prefix("r#").unwrap_or(ident);
        assert!(
            bare.starts_with(|c: char| c.is_ascii_lowercase())
                && bare
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{ident}"
        );
        count += 1;
    }
    // 16 schema fields (created_at is the server's), id, updated_at and the extra map.
    assert_eq!(count, 19);
}

/// The struct's `id` type: reads a string or a number, like `dbsync_client::Id`.
mod dbsync_client {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    #[serde(untagged)]
    pub enum Id {
        Text(String),
        Number(u64),
    }
}

/// The golden output, compiled.
mod generated {
    #![allow(dead_code)]
    use super::dbsync_client;
    include!("golden/contact.rs");
}

#[test]
fn the_golden_struct_reads_a_server_record_and_writes_a_create_body() {
    let returned = json!({
        "id": 42, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-02T00:00:00Z",
        "email": "ada@example.com", "lastName": null, "vip": true,
        "signed_up_at": "2026-01-01T00:00:00Z", "first name": "Ada", "type": "lead",
        "self": "x", "123abc": 3, "ünï": 1.25, "tags": [1], "meta": {"a": 1}, "extra": "e",
        "nickname": "not in the schema"
    });
    let record: generated::CrmContact = serde_json::from_value(returned).unwrap();
    assert_eq!(record.id, Some(dbsync_client::Id::Number(42)));
    assert_eq!(record.first_name.as_deref(), Some("Ada"));
    assert_eq!(record.r#type.as_deref(), Some("lead"));
    assert_eq!(record.extra_2["nickname"], "not in the schema");
    let body = serde_json::to_value(&record).unwrap();
    // No server field in the body; the required nullable field is sent as null.
    for key in ["id", "created_at", "updated_at"] {
        assert!(body.get(key).is_none(), "{key} in {body}");
    }
    assert_eq!(body["lastName"], json!(null));
    assert!(body.get("birthday").is_none());
    assert!(contact_schema().validate(&body).is_ok(), "{body}");
}
