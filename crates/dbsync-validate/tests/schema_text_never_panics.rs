//! Property tests: schema JSON *text* of any bytes (cut, garbled, or a schema with odd
//! members), and schema values read with arbitrary (also tiny or zero) [`SchemaLimits`],
//! never make the schema readers panic; a schema read within limits stays within them.

use dbsync_validate::{Schema, SchemaLimits};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,10}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn field() -> impl Strategy<Value = Value> {
    let name = prop_oneof![Just("a"), Just("b"), Just("e_mail"), Just("")];
    let kind = prop_oneof![
        Just("string"),
        Just("integer"),
        Just("number"),
        Just("date"),
        Just("object"),
        Just("array"),
        Just("nope"),
    ];
    let pattern = prop_oneof![
        Just("^[a-z]+$"),
        Just("\\w{20}"),
        Just("(a|b)*c{1,500}"),
        Just("("),
        Just("\\p{L}+"),
    ];
    (
        name,
        kind,
        prop::option::of(pattern),
        prop::option::of((0u64..40, 0u64..40)),
        prop::option::of(("\\PC{0,6}", json_value())),
    )
        .prop_map(|(name, kind, pattern, lengths, extra)| {
            let mut m = Map::new();
            m.insert("name".into(), json!(name));
            m.insert("type".into(), json!(kind));
            if let Some(p) = pattern {
                m.insert("pattern".into(), json!(p));
            }
            if let Some((min, max)) = lengths {
                m.insert("min_length".into(), json!(min));
                m.insert("max_length".into(), json!(max));
            }
            if let Some((k, v)) = extra {
                m.insert(k, v);
            }
            Value::Object(m)
        })
}

fn schema() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::collection::vec(field(), 0..8).prop_map(|f| json!({"fields": f})),
        1 => json_value(),
    ]
}

/// Schema text: arbitrary bytes as text, a schema's JSON, or a schema's JSON cut short.
fn schema_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        schema().prop_map(|v| v.to_string()),
        (schema(), any::<prop::sample::Index>()).prop_map(|(v, cut)| {
            let text = v.to_string();
            let mut end = cut.index(text.len() + 1);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text[..end].to_owned()
        }),
    ]
}

fn limits() -> impl Strategy<Value = SchemaLimits> {
    (0usize..10, 0usize..64, 0usize..200_000, 0usize..400_000).prop_map(
        |(fields, pattern_bytes, size, compiled)| {
            let mut limits = SchemaLimits::default();
            limits.max_fields = fields;
            limits.max_pattern_bytes = pattern_bytes;
            limits.pattern_size_limit = size;
            limits.max_compiled_pattern_bytes = compiled;
            limits
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn schema_text_of_any_bytes_never_panics(text in schema_text()) {
        let strict = Schema::from_json_str(&text);
        let lenient = Schema::from_json_str_lenient(&text);
        // What the strict reader takes, the lenient one takes the same.
        if let Ok(strict) = strict {
            prop_assert_eq!(lenient.ok(), Some(strict));
        }
    }

    #[test]
    fn schemas_read_with_any_limits_never_panic_and_keep_within_them(
        value in schema(),
        limits in limits(),
    ) {
        let strict = Schema::from_json_with_limits(&value, &limits);
        let lenient = Schema::from_json_lenient_with_limits(&value, &limits);
        for schema in [strict, lenient].into_iter().flatten() {
            prop_assert!(schema.fields().len() <= limits.max_fields);
        }
    }
}
