//! Records per second of `dbsync-validate` against the `jsonschema` crate on the same 100,000
//! realistic records (ten fields) and the equivalent JSON Schema, both collecting every error.
//!
//! Run: `cargo bench -p dbsync-validate -- --warm-up-time 1 --measurement-time 5`

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dbsync_validate::{Field, Format, Schema};
use serde_json::{Value, json};

const RECORDS: usize = 100_000;
const PHONE: &str = r"^\+?[0-9][0-9 -]{6,18}[0-9]$";
const STATUSES: [&str; 4] = ["lead", "active", "inactive", "customer"];

fn our_schema() -> Schema {
    Schema::builder()
        .field(
            Field::string("first_name")
                .required()
                .min_length(1)
                .max_length(50),
        )
        .field(
            Field::string("last_name")
                .required()
                .min_length(1)
                .max_length(50),
        )
        .field(
            Field::string("email")
                .required()
                .format(Format::Email)
                .max_length(254),
        )
        .field(Field::string("phone").pattern(PHONE))
        .field(Field::string("status").required().enum_values(STATUSES))
        .field(Field::integer("age").min(0).max(150))
        .field(Field::number("balance").min(-1_000_000).max(1_000_000))
        .field(Field::boolean("vip"))
        .field(Field::date("birthday").nullable())
        .field(Field::datetime("signed_up_at").required())
        .build()
        .expect("benchmark schema is valid")
}

fn json_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "first_name": {"type": "string", "minLength": 1, "maxLength": 50},
            "last_name": {"type": "string", "minLength": 1, "maxLength": 50},
            "email": {"type": "string", "format": "email", "maxLength": 254},
            "phone": {"type": "string", "pattern": PHONE},
            "status": {"type": "string", "enum": STATUSES},
            "age": {"type": "integer", "minimum": 0, "maximum": 150},
            "balance": {"type": "number", "minimum": -1_000_000, "maximum": 1_000_000},
            "vip": {"type": "boolean"},
            "birthday": {"type": ["string", "null"], "format": "date"},
            "signed_up_at": {"type": "string", "format": "date-time"}
        },
        "required": ["first_name", "last_name", "email", "status", "signed_up_at"],
        "additionalProperties": false
    })
}

/// A small deterministic generator (xorshift), so every run sees the same records.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const FIRST: [&str; 8] = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "José",
];
const LAST: [&str; 8] = [
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Núñez",
];
const DOMAINS: [&str; 4] = [
    "example.com",
    "mail.example.org",
    "corp.example.net",
    "example.co.uk",
];

/// A valid record; `invalid` breaks a few of its fields.
fn record(rng: &mut Rng, i: usize, invalid: bool) -> Value {
    let first = rng.pick(&FIRST);
    let last = rng.pick(&LAST);
    let mut r = json!({
        "first_name": first,
        "last_name": last,
        "email": format!("{}.{}{}@{}", first.to_lowercase(), last.to_lowercase(), i, rng.pick(&DOMAINS))
            .replace(['é', 'ú', 'ñ'], "e"),
        "phone": format!("+1 555-{:03}-{:04}", rng.below(1000), rng.below(10_000)),
        "status": rng.pick(&STATUSES),
        "age": rng.below(100) + 18,
        "balance": (rng.below(2_000_000) as f64) / 100.0 - 5_000.0,
        "vip": rng.below(2) == 0,
        "birthday": if rng.below(10) == 0 { Value::Null } else {
            Value::from(format!("{}-{:02}-{:02}", 1940 + rng.below(60), 1 + rng.below(12), 1 + rng.below(28)))
        },
        "signed_up_at": format!("2026-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            1 + rng.below(12), 1 + rng.below(28), rng.below(24), rng.below(60), rng.below(60)),
    });
    if invalid {
        r["email"] = json!("not-an-email");
        r["age"] = json!(200);
        r["birthday"] = json!("2026-02-30");
        r["status"] = json!("deleted");
    }
    r
}

fn records(invalid_every: usize) -> Vec<Value> {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    (0..RECORDS)
        .map(|i| record(&mut rng, i, invalid_every != 0 && i % invalid_every == 0))
        .collect()
}

fn bench(c: &mut Criterion) {
    let ours = our_schema();
    let theirs = jsonschema::options()
        .should_validate_formats(true)
        .build(&json_schema())
        .expect("JSON Schema is valid");

    for (name, data) in [("valid", records(0)), ("10pct_invalid", records(10))] {
        // Both validators must agree on every record, or the comparison means nothing.
        for r in &data {
            assert_eq!(
                ours.validate(r).is_ok(),
                theirs.is_valid(r),
                "disagreement on {r}"
            );
        }
        let mut group = c.benchmark_group(format!("validate_100k_{name}"));
        group.sample_size(10);
        group.throughput(Throughput::Elements(RECORDS as u64));
        group.bench_function("dbsync_validate", |b| {
            b.iter(|| {
                let mut violations = 0usize;
                for r in &data {
                    if let Err(v) = ours.validate(black_box(r)) {
                        violations += v.len();
                    }
                }
                violations
            })
        });
        group.bench_function("jsonschema", |b| {
            b.iter(|| {
                let mut errors = 0usize;
                for r in &data {
                    errors += theirs.iter_errors(black_box(r)).count();
                }
                errors
            })
        });
        group.finish();
    }
}

/// The two validators timed alternately (ours, theirs, ours, ...), so a change in the load of a
/// shared machine hits both alike; prints the median records/s of each and their ratio.
fn interleaved(_: &mut Criterion) {
    const ROUNDS: usize = 9;
    let ours = our_schema();
    let theirs = jsonschema::options()
        .should_validate_formats(true)
        .build(&json_schema())
        .expect("JSON Schema is valid");
    for (name, data) in [("valid", records(0)), ("10pct_invalid", records(10))] {
        let mut ours_secs = Vec::with_capacity(ROUNDS);
        let mut theirs_secs = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let start = Instant::now();
            let mut n = 0usize;
            for r in &data {
                n += ours.validate(black_box(r)).err().map_or(0, |v| v.len());
            }
            black_box(n);
            ours_secs.push(start.elapsed().as_secs_f64());
            let start = Instant::now();
            let mut n = 0usize;
            for r in &data {
                n += theirs.iter_errors(black_box(r)).count();
            }
            black_box(n);
            theirs_secs.push(start.elapsed().as_secs_f64());
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let ours_rate = RECORDS as f64 / median(&mut ours_secs);
        let theirs_rate = RECORDS as f64 / median(&mut theirs_secs);
        println!(
            "interleaved_{name}: dbsync_validate {:.0} records/s, jsonschema {:.0} records/s, ratio {:.2}x",
            ours_rate,
            theirs_rate,
            ours_rate / theirs_rate
        );
    }
}

criterion_group!(benches, bench, interleaved);
criterion_main!(benches);
