//! The rows a resource starts with: fixture rows (given, or read from a bounded JSON Lines
//! file) and rows generated from its schema by the sample generator; and schema files.
//!
//! Every row goes through the same check as a `POST /v1/{resource}` (schema, `unique`,
//! read-only fields), so a resource starts only with records a client could have created.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use dbsync_validate::{Samples, Schema};
use serde_json::Value;

use crate::store::{Resource, Store, write};
use crate::{SandboxError, StoreLimits};

/// The largest schema file [`crate::SandboxBuilder::schema_file`] reads (1 MiB).
pub const MAX_SCHEMA_FILE_BYTES: u64 = 1024 * 1024;

/// Where a resource's starting rows come from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// Rows given to the builder.
    Rows(Vec<Value>),
    /// A JSON Lines file, one row per line.
    File(PathBuf),
    /// This many rows drawn from the resource's schema.
    Generate(u64),
}

/// One batch of starting rows for one resource, in the order given to the builder.
#[derive(Debug, Clone)]
pub(crate) struct Initial {
    pub resource: String,
    pub source: Source,
}

/// Reads and parses a schema file (at most [`MAX_SCHEMA_FILE_BYTES`]).
pub(crate) fn read_schema_file(resource: &str, path: &Path) -> Result<Schema, SandboxError> {
    let error = |message: String| SandboxError::SchemaFile {
        resource: resource.to_owned(),
        path: path.to_owned(),
        message,
    };
    let file = File::open(path).map_err(|e| error(e.to_string()))?;
    let mut text = String::new();
    file.take(MAX_SCHEMA_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| error(e.to_string()))?;
    if text.len() as u64 > MAX_SCHEMA_FILE_BYTES {
        return Err(error(format!(
            "the file is larger than {MAX_SCHEMA_FILE_BYTES} bytes"
        )));
    }
    Schema::from_json_str(&text).map_err(|e| error(e.to_string()))
}

/// Loads every batch of starting rows into the store, counting rows per resource against
/// [`StoreLimits::max_fixture_rows`].
pub(crate) fn load(
    store: &Store,
    initial: &[Initial],
    limits: &StoreLimits,
    seed: u64,
) -> Result<(), SandboxError> {
    let mut counts: HashMap<&str, u64> = HashMap::new();
    let now = crate::time_fmt::now_micros();
    for batch in initial {
        let name = batch.resource.as_str();
        let count = counts.entry(name).or_default();
        let mut loader = Loader {
            resource: store.resource(name),
            name,
            count,
            max_rows: limits.max_fixture_rows,
            now,
        };
        match &batch.source {
            Source::Rows(rows) => {
                for (index, row) in rows.iter().enumerate() {
                    loader.add(row.clone(), || format!("row {}", index + 1))?;
                }
            }
            Source::File(path) => read_jsonl(path, limits, |line, row| {
                loader.add(row, || format!("{} line {line}", path.display()))
            })?,
            Source::Generate(rows) => {
                let schema = store.schema(name).ok_or_else(|| SandboxError::Fixture {
                    resource: name.to_owned(),
                    origin: "generated rows".into(),
                    message: "the resource has no schema to generate rows from; give it one \
                              (SandboxBuilder::schema, --resource NAME=SCHEMA_FILE)"
                        .into(),
                })?;
                let mut samples = Samples::new(&schema, seed ^ name_hash(name));
                for index in 1..=*rows {
                    let origin = || format!("generated row {index}");
                    let row = samples.valid().map_err(|e| SandboxError::Fixture {
                        resource: name.to_owned(),
                        origin: origin(),
                        message: e.to_string(),
                    })?;
                    loader.add(row, origin)?;
                }
            }
        }
    }
    Ok(())
}

/// A stable hash of a resource name (FNV-1a), so each resource draws its own rows from one seed.
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Adds rows to one resource, each checked like a create.
struct Loader<'a> {
    resource: Arc<RwLock<Resource>>,
    name: &'a str,
    count: &'a mut u64,
    max_rows: u64,
    now: i64,
}

impl Loader<'_> {
    fn add(&mut self, row: Value, origin: impl Fn() -> String) -> Result<(), SandboxError> {
        let error = |message: String| SandboxError::Fixture {
            resource: self.name.to_owned(),
            origin: origin(),
            message,
        };
        if *self.count >= self.max_rows {
            return Err(error(format!(
                "more than {} rows for one resource (StoreLimits::max_fixture_rows)",
                self.max_rows
            )));
        }
        let Value::Object(fields) = row else {
            return Err(error("a row must be a JSON object".into()));
        };
        crate::resources::create_one(&mut write(&self.resource), fields, self.now)
            .map_err(|e| error(e.describe()))?;
        *self.count += 1;
        Ok(())
    }
}

/// Reads a JSON Lines file within the limits, handing each row (a JSON value) and its line
/// number to `row`. Blank lines are skipped.
fn read_jsonl(
    path: &Path,
    limits: &StoreLimits,
    mut row: impl FnMut(u64, Value) -> Result<(), SandboxError>,
) -> Result<(), SandboxError> {
    let error = |line: u64, message: String| SandboxError::FixtureFile {
        path: path.to_owned(),
        line,
        message,
    };
    let file = File::open(path).map_err(|e| error(0, e.to_string()))?;
    let mut reader = BufReader::new(file);
    let max_line = limits.max_fixture_line_bytes as u64;
    let mut text = Vec::new();
    let mut total = 0u64;
    let mut number = 0u64;
    loop {
        text.clear();
        let read = (&mut reader)
            .take(max_line + 1)
            .read_until(b'\n', &mut text)
            .map_err(|e| error(number + 1, e.to_string()))?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        total += read as u64;
        if total > limits.max_fixture_bytes as u64 {
            return Err(error(
                number,
                format!(
                    "the file is larger than {} bytes (StoreLimits::max_fixture_bytes)",
                    limits.max_fixture_bytes
                ),
            ));
        }
        let ended = text.last() == Some(&b'\n');
        if ended {
            text.pop();
            if text.last() == Some(&b'\r') {
                text.pop();
            }
        }
        if text.len() as u64 > max_line || (!ended && read as u64 > max_line) {
            return Err(error(
                number,
                format!(
                    "the line is longer than {max_line} bytes (StoreLimits::max_fixture_line_bytes)"
                ),
            ));
        }
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let value: Value = serde_json::from_slice(&text)
            .map_err(|e| error(number, format!("not a JSON value: {e}")))?;
        row(number, value)?;
    }
}
