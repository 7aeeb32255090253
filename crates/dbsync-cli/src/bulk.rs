//! Bulk create and update from a file: records read incrementally, sent in batches, every
//! failure written to the `--failed` file (JSON Lines: line, record, error) so nothing is lost.

use std::fs::File;
use std::io::{BufRead as _, BufReader, BufWriter, IsTerminal as _, Write};
use std::path::Path;

use dbsync_client::{BatchOptions, Error, Resource, Schema};
use serde_json::{Map, Value, json};

use crate::exit::{CliError, Exit, class_of, report_write};
use crate::input::Input;
use crate::output::{Format, RecordWriter};
use crate::progress;

/// How many records are read before they are sent (in batches of 100).
const CHUNK: usize = 1000;

/// Create or update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMode {
    /// `POST /v1/{resource}/batch`
    Create,
    /// `PUT /v1/{resource}/batch`, each record carrying its `id`.
    Update,
}

/// A record without its `id` (what an update patch is checked as).
pub fn without_id(record: &Value) -> Value {
    match record {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| *k != "id")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The number of records in a file, for the progress bar (non-blank lines; array elements are
/// not counted, and stdin is unknown).
pub fn count_records(file: &Path) -> Option<u64> {
    if file.as_os_str() == "-" {
        return None;
    }
    let reader = BufReader::new(File::open(file).ok()?);
    let mut count = 0;
    for line in reader.split(b'\n') {
        if !line.ok()?.iter().all(u8::is_ascii_whitespace) {
            count += 1;
        }
    }
    Some(count)
}

/// One record that was not saved.
struct Failure {
    line: u64,
    record: Value,
    exit: Exit,
    error: Value,
}

/// Where failures go: the `--failed` file, or stderr lines.
struct Failures<'a> {
    file: Option<(BufWriter<File>, &'a Path)>,
    count: u64,
    class: Option<Exit>,
}

impl Failures<'_> {
    fn record(&mut self, failure: Failure) -> Result<(), CliError> {
        let Failure {
            line,
            record,
            exit,
            error,
        } = failure;
        self.count += 1;
        // Validation when any record was invalid, else the class of the first failure.
        self.class = Some(match self.class {
            None => exit,
            Some(_) if exit == Exit::Validation => Exit::Validation,
            Some(class) => class,
        });
        match &mut self.file {
            Some((out, path)) => {
                let entry = json!({"line": line, "record": record, "error": error});
                serde_json::to_writer(&mut *out, &entry).map_err(|e| {
                    CliError::other(format!("cannot write {}: {e}", path.display()))
                })?;
                out.write_all(b"\n")
                    .map_err(|e| CliError::io(path.display(), e))
            }
            None => {
                let message = error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("failed");
                eprintln!("dbsync: line {line}: {message}");
                Ok(())
            }
        }
    }
}

fn error_json(error: &Error) -> Value {
    json!({
        "code": error.status(),
        "message": error.to_string(),
        "details": error.details(),
    })
}

fn local_error(message: String, details: Value) -> Value {
    json!({"code": null, "message": message, "details": details})
}

/// How a bulk write runs.
pub struct Options<'a> {
    /// Create or update.
    pub mode: BulkMode,
    /// Check records against this schema first (`--validate`).
    pub schema: Option<Schema>,
    /// The `--failed` file.
    pub failed: Option<&'a Path>,
    /// The output format of saved records.
    pub format: Format,
    /// The number of records, for the progress bar, when known.
    pub total: Option<u64>,
    /// Batch requests in flight at once.
    pub concurrency: usize,
}

/// Sends every record of `input`, writing saved records to stdout and failures to the
/// `--failed` file (or stderr).
pub async fn run(
    resource: &Resource<Value>,
    input: Input,
    options: Options<'_>,
) -> Result<(), CliError> {
    let Options {
        mode,
        schema,
        failed,
        format,
        total,
        concurrency,
    } = options;
    let file = match failed {
        Some(path) => {
            let file = File::create(path)
                .map_err(|e| CliError::io(format!("cannot create {}", path.display()), e))?;
            Some((BufWriter::new(file), path))
        }
        None => None,
    };
    let mut failures = Failures {
        file,
        count: 0,
        class: None,
    };
    let stdout = std::io::stdout();
    let mut writer = RecordWriter::new(stdout.lock(), format);
    let bar = progress::bar(
        total,
        if mode == BulkMode::Create {
            "creating"
        } else {
            "updating"
        },
    );
    let mut chunk: Vec<(u64, Value)> = Vec::with_capacity(CHUNK);
    // Failures found locally wait for their chunk, so the failed file stays in line order.
    let mut local: Vec<Failure> = Vec::new();
    let mut seen: u64 = 0;
    let mut saved: u64 = 0;
    let mut input = input;
    loop {
        let next = input.next().transpose()?;
        let end = next.is_none();
        if let Some(item) = next {
            seen += 1;
            match item.value {
                Err((message, raw)) => local.push(Failure {
                    line: item.line,
                    record: Value::String(raw),
                    exit: Exit::Validation,
                    error: local_error(message, json!([])),
                }),
                Ok(record) => match check(&record, mode, schema.as_ref()) {
                    Ok(()) => chunk.push((item.line, record)),
                    Err(error) => local.push(Failure {
                        line: item.line,
                        record,
                        exit: Exit::Validation,
                        error,
                    }),
                },
            }
        }
        if chunk.len() >= CHUNK
            || local.len() >= CHUNK
            || (end && !(chunk.is_empty() && local.is_empty()))
        {
            let batch = std::mem::take(&mut chunk);
            let mut found = std::mem::take(&mut local);
            let batch_options = {
                let bar = bar.clone();
                let base = seen - (batch.len() + found.len()) as u64;
                BatchOptions::default()
                    .concurrency(concurrency)
                    .on_progress(move |p| bar.set_position(base + p.done as u64))
            };
            saved += send(
                resource,
                mode,
                batch,
                &batch_options,
                &mut found,
                &mut writer,
            )
            .await?;
            found.sort_by_key(|f| f.line);
            for failure in found {
                failures.record(failure)?;
            }
            bar.set_position(seen);
        }
        if end {
            break;
        }
    }
    bar.finish_and_clear();
    report_write(writer.finish())?;
    if let Some((out, path)) = &mut failures.file {
        out.flush().map_err(|e| CliError::io(path.display(), e))?;
    }
    let verb = if mode == BulkMode::Create {
        "created"
    } else {
        "updated"
    };
    match failures.class {
        None => {
            if std::io::stderr().is_terminal() {
                eprintln!("{verb} {saved} record(s)");
            }
            Ok(())
        }
        Some(class) => {
            let whereto = match failed {
                Some(path) => format!(
                    "written to {} (JSON Lines: line, record, error; retry with `jq -c .record`)",
                    path.display()
                ),
                None => "listed above (use --failed FILE to keep them)".to_owned(),
            };
            Err(CliError::new(
                class,
                format!(
                    "{verb} {saved} of {seen} record(s); {} failed, {whereto}",
                    failures.count
                ),
            ))
        }
    }
}

/// The local checks: an object, an `id` for an update, and the schema when `--validate`.
fn check(record: &Value, mode: BulkMode, schema: Option<&Schema>) -> Result<(), Value> {
    let Some(object) = record.as_object() else {
        return Err(local_error(
            "the record is not a JSON object".into(),
            json!([]),
        ));
    };
    if mode == BulkMode::Update && id_of(object).is_none() {
        return Err(local_error(
            "the record has no \"id\" (a string or a number): an update must name its record"
                .into(),
            json!([]),
        ));
    }
    if let Some(schema) = schema {
        let result = match mode {
            BulkMode::Create => schema.validate(record),
            BulkMode::Update => schema.validate_partial(&without_id(record)),
        };
        if let Err(violations) = result {
            let object = violations.to_error_object();
            return Err(
                json!({"code": 400, "message": format!("validation failed locally (nothing was sent): {}", object.message), "details": object.details}),
            );
        }
    }
    Ok(())
}

fn id_of(object: &Map<String, Value>) -> Option<String> {
    match object.get("id")? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Sends one chunk; returns how many records were saved.
async fn send<W: Write>(
    resource: &Resource<Value>,
    mode: BulkMode,
    batch: Vec<(u64, Value)>,
    options: &BatchOptions,
    failures: &mut Vec<Failure>,
    writer: &mut RecordWriter<W>,
) -> Result<u64, CliError> {
    if batch.is_empty() {
        return Ok(0);
    }
    let outcomes = match mode {
        BulkMode::Create => {
            let records: Vec<Value> = batch.iter().map(|(_, r)| r.clone()).collect();
            resource.create_many_with(&records, options).await
        }
        BulkMode::Update => {
            let patches: Vec<(String, Value)> = batch
                .iter()
                .map(|(_, r)| {
                    let id = r.as_object().and_then(id_of).unwrap_or_default();
                    (id, r.clone())
                })
                .collect();
            resource.update_many_with(&patches, options).await
        }
    };
    let mut saved = 0;
    let mut batch: Vec<Option<(u64, Value)>> = batch.into_iter().map(Some).collect();
    for outcome in outcomes {
        let Some((line, record)) = batch.get_mut(outcome.index).and_then(Option::take) else {
            continue;
        };
        match outcome.result {
            Ok(saved_record) => {
                saved += 1;
                report_write(writer.write(&saved_record))?;
            }
            Err(error) => failures.push(Failure {
                line,
                record,
                exit: class_of(&error),
                error: error_json(&error),
            }),
        }
    }
    Ok(saved)
}
