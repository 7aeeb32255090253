//! Validating a valid record allocates nothing beyond what the `Value` already holds.
//!
//! A counting global allocator counts allocations made by this thread while validating.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use dbsync_validate::{BatchOptions, Field, Format, Mode, Schema, UniqueLookup, ValidateOptions};
use serde_json::{Value, json};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

fn schema() -> Schema {
    Schema::builder()
        .field(
            Field::string("first_name")
                .required()
                .min_length(1)
                .max_length(50),
        )
        .field(
            Field::string("email")
                .required()
                .unique()
                .format(Format::Email)
                .max_length(254),
        )
        .field(Field::string("website").format(Format::Url))
        .field(Field::string("uid").format(Format::Uuid))
        .field(Field::string("phone").pattern(r"^\+?[0-9][0-9 -]{6,18}[0-9]$"))
        .field(
            Field::string("status")
                .required()
                .enum_values(["lead", "active", "inactive"]),
        )
        .field(Field::integer("age").min(0).max(150))
        .field(Field::number("balance").min(-1_000_000).max(1_000_000))
        .field(Field::boolean("vip"))
        .field(Field::date("birthday").nullable())
        .field(Field::datetime("signed_up_at").required())
        .field(Field::object("meta"))
        .field(Field::array("tags").max_length(10))
        .build()
        .unwrap()
}

fn record() -> Value {
    json!({
        "first_name": "José",
        "email": "jose.nunez@example.com",
        "website": "https://example.com/jose",
        "uid": "123e4567-e89b-12d3-a456-426614174000",
        "phone": "+1 555-010-0200",
        "status": "active",
        "age": 41,
        "balance": 1234.5,
        "vip": true,
        "birthday": null,
        "signed_up_at": "2026-11-27T20:52:28.123+01:00",
        "meta": {"source": "import", "tags": [1, 2, {"x": null}]},
        "tags": ["a", "b"]
    })
}

struct NoneTaken;
impl UniqueLookup for NoneTaken {
    fn existing_owner(&self, _field: &str, _value: &Value) -> Option<String> {
        None
    }
}

#[test]
fn a_valid_record_costs_no_allocation() {
    let schema = schema();
    let record = record();
    let partial = json!({"age": 3, "status": "lead"});
    let open = Schema::open();
    // Warm up anything lazily initialised (regex caches are per thread pool).
    assert_eq!(schema.validate(&record), Ok(()));
    assert_eq!(schema.validate_partial(&partial), Ok(()));
    let lookup = NoneTaken;
    let options = ValidateOptions::new().lookup(&lookup).own_id("1");
    let Value::Object(map) = &record else {
        panic!("the record is an object")
    };

    let n = allocations_during(|| {
        for _ in 0..100 {
            assert!(schema.validate(&record).is_ok());
            assert!(schema.validate_partial(&partial).is_ok());
            assert!(schema.validate_with(&record, &options).is_ok());
            assert!(open.validate(&record).is_ok());
            assert!(schema.validate_object_with(map, &options).is_ok());
        }
    });
    assert_eq!(n, 0, "allocations while validating valid records");

    // The counter works: an invalid record allocates its messages.
    let n = allocations_during(|| assert!(schema.validate(&json!({"age": -1})).is_err()));
    assert!(n > 0);
    // And a batch needs its report (sanity check that batches still work under the counter).
    let report = schema.validate_batch(std::slice::from_ref(&record), &BatchOptions::new());
    assert!(report.is_ok());
    assert!(schema.validate_serialize(&record, Mode::Full).is_ok());
}
