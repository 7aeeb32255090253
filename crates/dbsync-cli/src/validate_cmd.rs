//! `dbsync validate`: every violation of every record, with the record's line number.

use std::collections::HashMap;

use dbsync_client::{Connection, Schema};
use dbsync_validate::{UniqueLookup, ValidateOptions};
use serde_json::{Value, json};

use crate::args::ValidateArgs;
use crate::exit::{CliError, Exit, report_write};
use crate::output::{Format, RecordWriter};

/// Where the schema comes from.
pub enum SchemaSource<'a> {
    /// A schema file.
    File(&'a std::path::Path),
    /// The server's schema of a resource.
    Resource(&'a Connection, &'a str),
}

/// Reads the schema a validation uses.
pub async fn load_schema(source: SchemaSource<'_>) -> Result<Schema, CliError> {
    match source {
        SchemaSource::File(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::io(format!("cannot read {}", path.display()), e))?;
            Schema::from_json_str(&text).map_err(|e| {
                CliError::usage(format!("{} is not a usable schema: {e}", path.display()))
            })
        }
        SchemaSource::Resource(connection, name) => {
            Ok(connection.resource::<Value>(name)?.schema().await?)
        }
    }
}

/// The values of unique fields seen so far in the input, with the line that first held each,
/// so a value repeated within the file is reported like a server's uniqueness violation.
#[derive(Default)]
struct SeenUniqueValues(HashMap<(String, String), u64>);

impl SeenUniqueValues {
    fn remember(&mut self, schema: &Schema, record: &Value, line: u64) {
        for field in schema.fields().iter().filter(|f| f.is_unique()) {
            if let Some(value) = record.get(field.name()).filter(|v| !v.is_null()) {
                self.0
                    .entry((field.name().to_owned(), value.to_string()))
                    .or_insert(line);
            }
        }
    }
}

impl UniqueLookup for SeenUniqueValues {
    fn existing_owner(&self, field: &str, value: &Value) -> Option<String> {
        self.0
            .get(&(field.to_owned(), value.to_string()))
            .map(|line| format!("on line {line} of this input"))
    }
}

/// Checks every record of the input, and uniqueness across it; prints one row per violation;
/// exit 5 if any.
pub fn run(schema: &Schema, args: &ValidateArgs, format: Format) -> Result<(), CliError> {
    let input = crate::input::open(&args.input)?;
    let stdout = std::io::stdout();
    let mut writer = RecordWriter::new(stdout.lock(), format);
    let mut records = 0u64;
    let mut invalid = 0u64;
    let mut violations = 0u64;
    let mut seen = SeenUniqueValues::default();
    for item in input {
        let item = item?;
        records += 1;
        let rows: Vec<Value> = match &item.value {
            Err((message, _)) => {
                vec![
                    json!({"line": item.line, "field": "", "code": "not_json", "message": message}),
                ]
            }
            Ok(record) => {
                let options = if args.partial {
                    ValidateOptions::partial()
                } else {
                    ValidateOptions::new()
                };
                let result = schema.validate_with(record, &options.lookup(&seen));
                seen.remember(schema, record, item.line);
                match result {
                    Ok(()) => Vec::new(),
                    Err(found) => found
                        .to_error_object()
                        .details
                        .into_iter()
                        .map(|d| {
                            json!({"line": item.line, "field": d.field, "code": d.code, "message": d.message})
                        })
                        .collect(),
                }
            }
        };
        if !rows.is_empty() {
            invalid += 1;
        }
        for row in rows {
            violations += 1;
            report_write(writer.write(&row))?;
        }
    }
    report_write(writer.finish())?;
    if invalid > 0 {
        return Err(CliError::new(
            Exit::Validation,
            format!("{invalid} of {records} record(s) invalid ({violations} violation(s))"),
        ));
    }
    eprintln!("all {records} record(s) valid");
    Ok(())
}
