//! Validating a batch: each record, plus uniqueness across the batch and against stored records.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use serde::Serialize;
use serde_json::Value;

use crate::check::{Mode, UniqueLookup, check_record, lookup_conflict, to_json_record};
use crate::schema::Schema;
use crate::violation::{Violation, ViolationCode, Violations};

/// How to validate a batch: full or partial, an optional [`UniqueLookup`], and the ids of the
/// records when they are updates.
#[derive(Clone, Default)]
pub struct BatchOptions<'a> {
    mode: Mode,
    lookup: Option<&'a dyn UniqueLookup>,
    own_ids: Vec<Option<String>>,
}

impl std::fmt::Debug for BatchOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchOptions")
            .field("mode", &self.mode)
            .field("lookup", &self.lookup.is_some())
            .field("own_ids", &self.own_ids)
            .finish()
    }
}

impl<'a> BatchOptions<'a> {
    /// Full mode (creates), no lookup.
    pub fn new() -> BatchOptions<'a> {
        BatchOptions::default()
    }

    /// Partial mode (updates), no lookup.
    pub fn partial() -> BatchOptions<'a> {
        BatchOptions::new().mode(Mode::Partial)
    }

    /// Sets the mode.
    pub fn mode(mut self, mode: Mode) -> BatchOptions<'a> {
        self.mode = mode;
        self
    }

    /// Checks unique fields against stored records too.
    pub fn lookup(mut self, lookup: &'a dyn UniqueLookup) -> BatchOptions<'a> {
        self.lookup = Some(lookup);
        self
    }

    /// The id of each record, by position (for a batch update): a stored value owned by the
    /// record itself is not a conflict. Positions past the end, or `None`, have no id.
    pub fn own_ids<I, S>(mut self, ids: I) -> BatchOptions<'a>
    where
        I: IntoIterator<Item = Option<S>>,
        S: Into<String>,
    {
        self.own_ids = ids.into_iter().map(|id| id.map(Into::into)).collect();
        self
    }
}

/// The outcome of [`Schema::validate_batch`]: one result per record, by position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchReport {
    results: Vec<Result<(), Violations>>,
}

impl BatchReport {
    /// Whether every record passed.
    pub fn is_ok(&self) -> bool {
        self.results.iter().all(Result::is_ok)
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.results.len()
    }

    /// Whether the batch was empty.
    pub fn is_empty(&self) -> bool {
        self.results.is_empty()
    }

    /// The result of the record at `index`.
    pub fn result(&self, index: usize) -> Option<&Result<(), Violations>> {
        self.results.get(index)
    }

    /// The violations of the record at `index` (`None` if it passed or is out of range).
    pub fn violations(&self, index: usize) -> Option<&Violations> {
        self.results.get(index).and_then(|r| r.as_ref().err())
    }

    /// The failed records: `(index, violations)`.
    pub fn failures(&self) -> impl Iterator<Item = (usize, &Violations)> {
        self.results
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().err().map(|v| (i, v)))
    }

    /// Number of failed records.
    pub fn failure_count(&self) -> usize {
        self.results.iter().filter(|r| r.is_err()).count()
    }

    /// All results, by position.
    pub fn results(&self) -> &[Result<(), Violations>] {
        &self.results
    }

    /// Takes the results.
    pub fn into_results(self) -> Vec<Result<(), Violations>> {
        self.results
    }
}

/// A unique value as compared across a batch: strings by text, numbers by value (`1` equals
/// `1.0`), booleans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum UniqueKey<'v> {
    Str(&'v str),
    Int(i128),
    Float(u64),
    Bool(bool),
}

fn unique_key(value: &Value) -> Option<UniqueKey<'_>> {
    Some(match value {
        Value::String(s) => UniqueKey::Str(s),
        Value::Bool(b) => UniqueKey::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                UniqueKey::Int(i128::from(i))
            } else if let Some(u) = n.as_u64() {
                UniqueKey::Int(i128::from(u))
            } else {
                let f = n.as_f64()?;
                if f.fract() == 0.0 && f.abs() < 1e38 {
                    // Exact: an integral f64 below 2^126 converts to i128 without loss.
                    UniqueKey::Int(f as i128)
                } else {
                    UniqueKey::Float(f.to_bits())
                }
            }
        }
        _ => return None,
    })
}

impl Schema {
    /// Checks every record of a batch, and uniqueness: the second record holding a unique
    /// field's value is reported with the index of the first; with a lookup, values held by
    /// stored records are reported too. `null` values are never duplicates, and only values that
    /// passed their field's other checks take part. Numbers compare by value (`1` equals `1.0`);
    /// strings, dates and date-times compare by text.
    ///
    /// ```
    /// use dbsync_validate::{BatchOptions, Field, Schema};
    /// use serde_json::json;
    ///
    /// let schema = Schema::builder().field(Field::string("email").unique()).build()?;
    /// let records = [json!({"email": "a@example.com"}), json!({"email": "a@example.com"})];
    /// let report = schema.validate_batch(&records, &BatchOptions::new());
    /// assert!(report.result(0).is_some_and(|r| r.is_ok()));
    /// assert_eq!(report.violations(1).unwrap().as_slice()[0].message,
    ///     "email must be unique: the same value is at index 0 of this batch");
    /// # Ok::<(), dbsync_validate::SchemaError>(())
    /// ```
    pub fn validate_batch(&self, records: &[Value], options: &BatchOptions<'_>) -> BatchReport {
        let mut seen: HashMap<(usize, UniqueKey<'_>), usize> = HashMap::new();
        let results = records
            .iter()
            .enumerate()
            .map(|(position, record)| {
                let own_id = options.own_ids.get(position).and_then(|id| id.as_deref());
                check_record(self, record, options.mode, |field_index, field, value| {
                    if let Some(key) = unique_key(value) {
                        match seen.entry((field_index, key)) {
                            Entry::Occupied(first) => {
                                return Some(Violation::new(
                                    field.name.clone(),
                                    ViolationCode::Unique,
                                    format!(
                                        "{} must be unique: the same value is at index {} of this batch",
                                        field.name,
                                        first.get()
                                    ),
                                ));
                            }
                            Entry::Vacant(slot) => {
                                slot.insert(position);
                            }
                        }
                    }
                    lookup_conflict(options.lookup, own_id, field, value)
                })
                .into_result()
            })
            .collect();
        BatchReport { results }
    }

    /// [`Schema::validate_batch`] for any serializable records; a record that cannot be turned
    /// into JSON fails with a `not_serializable` violation.
    pub fn validate_batch_serialize<T: Serialize>(
        &self,
        records: &[T],
        options: &BatchOptions<'_>,
    ) -> BatchReport {
        let mut values = Vec::with_capacity(records.len());
        let mut failed = Vec::new();
        for (i, record) in records.iter().enumerate() {
            match to_json_record(record) {
                Ok(v) => values.push(v),
                Err(e) => {
                    values.push(Value::Null);
                    failed.push((i, e));
                }
            }
        }
        let mut report = self.validate_batch(&values, options);
        for (i, e) in failed {
            if let Some(slot) = report.results.get_mut(i) {
                *slot = Err(e);
            }
        }
        report
    }
}
