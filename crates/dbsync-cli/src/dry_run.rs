//! `--dry-run` of `create` and `update`: every record read and checked as a real run would
//! (an object, an `id` for an update, the resource's schema), the records that would be sent
//! printed to stdout, the invalid ones to stderr with their line, and nothing sent.

use dbsync_client::Schema;
use serde_json::Value;

use crate::bulk::{self, BulkMode};
use crate::exit::{CliError, Exit, report_write};
use crate::input::{Input, InputRecord};
use crate::output::{Format, RecordWriter};
use crate::terminal_text;

/// The most invalid records listed on stderr (the count is always given).
pub const MAX_LISTED: usize = 100;

/// Checks and prints the records of `input`; exit 5 when any is invalid.
pub fn run(
    input: Input,
    mode: BulkMode,
    schema: Option<&Schema>,
    format: Format,
) -> Result<(), CliError> {
    let mut writer = RecordWriter::new(std::io::stdout().lock(), format);
    let (mut valid, mut invalid) = (0u64, 0u64);
    for item in input {
        let InputRecord { line, value } = item?;
        let problem = match value {
            Err((why, _)) => Some(why),
            Ok(record) => match bulk::check(&record, mode, schema) {
                Ok(()) => {
                    valid += 1;
                    report_write(writer.write(&record))?;
                    None
                }
                Err(error) => Some(describe(&error)),
            },
        };
        if let Some(problem) = problem {
            invalid += 1;
            if invalid as usize <= MAX_LISTED {
                eprintln!("dbsync: line {line}: {problem}");
            }
        }
    }
    report_write(writer.finish())?;
    let verb = verb(mode);
    if invalid == 0 {
        eprintln!("dbsync: dry run: {valid} record(s) would be {verb}; nothing was sent");
        return Ok(());
    }
    Err(CliError::new(
        Exit::Validation,
        format!("dry run: {invalid} record(s) invalid, {valid} would be {verb}; nothing was sent"),
    ))
}

/// The note after a single record's dry run.
pub fn note_one(mode: BulkMode) {
    eprintln!(
        "dbsync: dry run: 1 record would be {}; nothing was sent",
        verb(mode)
    );
}

fn verb(mode: BulkMode) -> &'static str {
    match mode {
        BulkMode::Create => "created",
        BulkMode::Update => "updated",
    }
}

/// A local error object (`message`, `details`) in one line.
fn describe(error: &Value) -> String {
    let mut text = error["message"].as_str().unwrap_or("invalid").to_owned();
    if let Some(details) = error["details"].as_array() {
        for detail in details.iter().take(10) {
            let field = detail["field"].as_str().unwrap_or("");
            let message = detail["message"].as_str().unwrap_or("");
            text.push_str(&format!("; {field}: {message}"));
        }
    }
    terminal_text::escape_controls(&text).into_owned()
}
