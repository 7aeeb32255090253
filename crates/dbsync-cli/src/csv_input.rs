//! CSV input for `create --file` and `update --file`: a header row naming fields, each cell
//! converted to its field's type by the resource's schema. The whole input is checked before
//! anything is sent (a first pass); a row that does not convert stops the command with its line
//! and column.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use dbsync_client::Schema;
use dbsync_validate::FieldType;
use serde_json::{Map, Number, Value};

use crate::exit::{CliError, Exit};
use crate::input::{Input, InputRecord};

/// The most columns a CSV header may have.
pub const MAX_COLUMNS: usize = 1_000;
/// The longest CSV row, in bytes.
pub const MAX_ROW_BYTES: usize = 1 << 20;
/// The most CSV read from stdin (it is held in memory to be read twice), in bytes.
pub const MAX_STDIN_BYTES: u64 = 64 << 20;

/// The format of `--file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// JSON Lines or a JSON array (told apart by the first character).
    Json,
    /// CSV with a header row.
    Csv,
}

/// Whether `file` is read as CSV: `--input-format csv`, or a `.csv` name without the flag.
pub fn is_csv(file: &Path, format: Option<InputFormat>) -> bool {
    match format {
        Some(format) => format == InputFormat::Csv,
        None => file
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("csv")),
    }
}

/// One column: its name and the field's type (`None`: kept as text).
struct Column {
    name: String,
    field_type: Option<FieldType>,
    nullable: bool,
}

/// Where the CSV is read from: a file (opened once per pass) or stdin's bytes.
enum Source {
    File(std::path::PathBuf),
    Bytes(Arc<Vec<u8>>),
}

impl Source {
    fn open(&self, name: &str) -> Result<Box<dyn Read + Send>, CliError> {
        Ok(match self {
            Source::File(path) => Box::new(
                std::fs::File::open(path)
                    .map_err(|e| CliError::io(format!("cannot open {name}"), e))?,
            ),
            Source::Bytes(bytes) => Box::new(std::io::Cursor::new(SharedBytes(Arc::clone(bytes)))),
        })
    }
}

/// Shared bytes a cursor can read.
struct SharedBytes(Arc<Vec<u8>>);

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Opens `file` (`-` is stdin) as CSV records converted by `schema`. Every row is converted once
/// first: the first that fails is the error (exit 5), before anything is sent. Returns the
/// records and their count.
pub fn open(file: &Path, schema: &Schema) -> Result<(Input, u64), CliError> {
    let name = file.display().to_string();
    let source = if file.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_STDIN_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| CliError::io("cannot read stdin", e))?;
        if bytes.len() as u64 > MAX_STDIN_BYTES {
            return Err(CliError::usage(format!(
                "CSV on stdin is limited to {MAX_STDIN_BYTES} bytes (it is read twice): give \
                 --file FILE"
            )));
        }
        Source::Bytes(Arc::new(bytes))
    } else {
        Source::File(file.to_owned())
    };
    let mut count = 0u64;
    for row in Rows::new(source.open(&name)?, schema, name.clone())? {
        row?;
        count += 1;
    }
    let rows = Rows::new(source.open(&name)?, schema, name)?;
    let records = rows.map(|row| {
        row.map(|(line, record)| InputRecord {
            line,
            value: Ok(Value::Object(record)),
        })
    });
    Ok((Input::Records(Box::new(records)), count))
}

/// The converted rows of a CSV input, with the line each starts on.
struct Rows {
    reader: csv::Reader<Box<dyn Read + Send>>,
    columns: Vec<Column>,
    name: String,
    record: csv::StringRecord,
    failed: bool,
}

impl Rows {
    fn new(read: Box<dyn Read + Send>, schema: &Schema, name: String) -> Result<Self, CliError> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(true)
            .from_reader(read);
        let header = reader.headers().map_err(|e| csv_error(&name, &e))?.clone();
        let at = |column: usize, why: String| {
            CliError::new(
                Exit::Validation,
                format!("{name} line 1, column {column}: {why}; nothing was sent"),
            )
        };
        if header.is_empty() || header.iter().all(str::is_empty) {
            return Err(at(
                1,
                "no header row (the first row names the fields)".into(),
            ));
        }
        if header.len() > MAX_COLUMNS {
            return Err(at(
                MAX_COLUMNS + 1,
                format!("more than {MAX_COLUMNS} columns"),
            ));
        }
        let mut columns: Vec<Column> = Vec::with_capacity(header.len());
        for (index, title) in header.iter().enumerate() {
            let title = title.trim();
            let shown = crate::terminal_text::escape_controls(title);
            if title.is_empty() {
                return Err(at(index + 1, "a column without a name".into()));
            }
            if columns.iter().any(|c| c.name == title) {
                return Err(at(index + 1, format!("column `{shown}` appears twice")));
            }
            let field = schema.field(title);
            if field.is_none() && title != "id" && !schema.additional_fields() {
                return Err(at(
                    index + 1,
                    format!("`{shown}` is not a field of the resource's schema"),
                ));
            }
            columns.push(Column {
                name: title.to_owned(),
                field_type: field.map(|f| f.field_type()),
                nullable: field.is_some_and(|f| f.is_nullable()),
            });
        }
        Ok(Self {
            reader,
            columns,
            name,
            record: csv::StringRecord::new(),
            failed: false,
        })
    }

    fn convert(&self, line: u64) -> Result<Map<String, Value>, CliError> {
        let at = |column: usize, why: String| {
            CliError::new(
                Exit::Validation,
                format!(
                    "{} line {line}, column {column}: {why}; nothing was sent",
                    self.name
                ),
            )
        };
        if self.record.as_slice().len() > MAX_ROW_BYTES {
            return Err(at(
                1,
                format!("the row is longer than {MAX_ROW_BYTES} bytes"),
            ));
        }
        if self.record.len() != self.columns.len() {
            return Err(at(
                self.record.len().min(self.columns.len()) + 1,
                format!(
                    "the row has {} column(s), the header {}",
                    self.record.len(),
                    self.columns.len()
                ),
            ));
        }
        let mut object = Map::new();
        for (index, (cell, column)) in self.record.iter().zip(&self.columns).enumerate() {
            let value = convert_cell(cell, column).map_err(|why| {
                at(
                    index + 1,
                    format!(
                        "`{}` ({}): {why}",
                        crate::terminal_text::escape_controls(&column.name),
                        column.field_type.map_or("text", FieldType::as_str)
                    ),
                )
            })?;
            if let Some(value) = value {
                object.insert(column.name.clone(), value);
            }
        }
        Ok(object)
    }
}

impl Iterator for Rows {
    type Item = Result<(u64, Map<String, Value>), CliError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let result = match self.reader.read_record(&mut self.record) {
            Ok(false) => return None,
            Ok(true) => {
                let line = self.record.position().map_or(0, csv::Position::line);
                self.convert(line).map(|record| (line, record))
            }
            Err(error) => Err(csv_error(&self.name, &error)),
        };
        self.failed = result.is_err();
        Some(result)
    }
}

fn csv_error(name: &str, error: &csv::Error) -> CliError {
    let line = error.position().map_or(0, csv::Position::line);
    let what = match error.kind() {
        csv::ErrorKind::Utf8 { .. } => "not UTF-8".to_owned(),
        _ => error.to_string(),
    };
    CliError::new(
        Exit::Validation,
        format!("{name} line {line}: {what}; nothing was sent"),
    )
}

/// One cell as its field's value: `None` leaves the field out (an empty cell of a field that is
/// not nullable), `null` for an empty cell of a nullable field.
fn convert_cell(cell: &str, column: &Column) -> Result<Option<Value>, String> {
    if cell.is_empty() {
        return Ok(column.nullable.then_some(Value::Null));
    }
    let trimmed = cell.trim();
    let value = match column.field_type {
        None | Some(FieldType::String) | Some(FieldType::DateTime) => Value::String(cell.into()),
        Some(FieldType::Integer) => trimmed
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("`{}` is not an integer", shown(cell)))?,
        Some(FieldType::Number) => match trimmed.parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => trimmed
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| format!("`{}` is not a number", shown(cell)))?,
        },
        Some(FieldType::Boolean) => match trimmed.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Value::Bool(true),
            "false" | "no" | "0" => Value::Bool(false),
            _ => {
                return Err(format!(
                    "`{}` is not a boolean (true/false, yes/no, 1/0)",
                    shown(cell)
                ));
            }
        },
        Some(FieldType::Date) => {
            if !is_date(trimmed) {
                return Err(format!("`{}` is not a date YYYY-MM-DD", shown(cell)));
            }
            Value::String(trimmed.into())
        }
        Some(FieldType::Object) | Some(FieldType::Array) => {
            let value: Value = serde_json::from_str(cell).map_err(|e| format!("not JSON ({e})"))?;
            let fits = match column.field_type {
                Some(FieldType::Object) => value.is_object(),
                _ => value.is_array(),
            };
            if !fits {
                return Err("the JSON is not of the field's type".into());
            }
            value
        }
    };
    Ok(Some(value))
}

/// A cell in a message: control characters escaped, cut after 100 characters.
fn shown(cell: &str) -> String {
    let cut: String = cell.chars().take(100).collect();
    crate::terminal_text::escape_controls(&cut).into_owned()
}

/// `YYYY-MM-DD` with a month 01-12 and a day 01-31.
fn is_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes[range.clone()]
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| text[range].parse::<u32>().ok())
            .flatten()
    };
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return false;
    }
    matches!(
        (digits(0..4), digits(5..7), digits(8..10)),
        (Some(_), Some(1..=12), Some(1..=31))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(field_type: FieldType, nullable: bool) -> Column {
        Column {
            name: "f".into(),
            field_type: Some(field_type),
            nullable,
        }
    }

    #[test]
    fn cells_convert_to_their_field_type() {
        let ok = |t, cell| convert_cell(cell, &column(t, false)).unwrap().unwrap();
        assert_eq!(ok(FieldType::Integer, " 42 "), Value::from(42));
        assert_eq!(ok(FieldType::Number, "2.5"), serde_json::json!(2.5));
        assert_eq!(ok(FieldType::Number, "7"), Value::from(7));
        assert_eq!(ok(FieldType::Boolean, "Yes"), Value::Bool(true));
        assert_eq!(ok(FieldType::Boolean, "0"), Value::Bool(false));
        assert_eq!(ok(FieldType::Date, "2024-02-29"), Value::from("2024-02-29"));
        assert_eq!(ok(FieldType::String, " a "), Value::from(" a "));
        assert_eq!(
            ok(FieldType::Array, "[1,\"x\"]"),
            serde_json::json!([1, "x"])
        );
        assert_eq!(
            convert_cell("", &column(FieldType::Integer, false)),
            Ok(None)
        );
        assert_eq!(
            convert_cell("", &column(FieldType::String, true)),
            Ok(Some(Value::Null))
        );
        for (t, cell) in [
            (FieldType::Integer, "4.5"),
            (FieldType::Integer, "99999999999999999999"),
            (FieldType::Number, "NaN"),
            (FieldType::Boolean, "maybe"),
            (FieldType::Date, "2024-13-01"),
            (FieldType::Date, "24-01-01"),
            (FieldType::Object, "[1]"),
            (FieldType::Array, "{"),
        ] {
            assert!(convert_cell(cell, &column(t, false)).is_err(), "{t} {cell}");
        }
    }

    #[test]
    fn csv_is_told_by_the_flag_or_the_extension() {
        assert!(is_csv(Path::new("a.CSV"), None));
        assert!(!is_csv(Path::new("a.jsonl"), None));
        assert!(!is_csv(Path::new("a.csv"), Some(InputFormat::Json)));
        assert!(is_csv(Path::new("-"), Some(InputFormat::Csv)));
    }
}
