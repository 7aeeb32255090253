//! Writing records in the formats the CLI offers: JSON, JSON Lines, CSV and a table.
//!
//! The JSON formats are exact, with every control character inside a string as a `\u00xx`
//! escape; CSV and the table show the control characters of keys and values as `\u{..}` escapes
//! (see [`terminal_text`]).

use std::borrow::Cow;
use std::io::{self, Write};

use serde_json::Value;
use unicode_width::UnicodeWidthStr as _;

use crate::{shape, table, terminal_text};

/// An output format, chosen with `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Pretty-printed JSON (an array for lists).
    Json,
    /// One compact JSON document per line.
    Jsonl,
    /// Comma-separated values with a header row (nested values as JSON text).
    Csv,
    /// An aligned text table for people.
    Table,
}

impl Format {
    /// The format to use when the user did not choose one: a table for a terminal, JSON Lines
    /// for a pipe or a file.
    pub fn default_for(stdout_is_terminal: bool) -> Self {
        if stdout_is_terminal {
            Format::Table
        } else {
            Format::Jsonl
        }
    }
}

/// Writes records one at a time, so a list of any length streams with bounded memory (the
/// table, which needs its rows to size its columns, is printed in blocks of
/// [`TABLE_BLOCK_ROWS`] rows).
pub struct RecordWriter<W: Write> {
    out: W,
    format: Format,
    written: usize,
    csv_columns: Option<Vec<String>>,
    table_rows: Vec<Value>,
    table_width: Option<usize>,
}

impl<W: Write> RecordWriter<W> {
    /// A writer of `format` into `out`.
    pub fn new(out: W, format: Format) -> Self {
        Self {
            out,
            format,
            written: 0,
            csv_columns: None,
            table_rows: Vec::new(),
            table_width: if format == Format::Table {
                table::target_width()
            } else {
                None
            },
        }
    }

    /// Writes one record, shaped by `--fields` and `--jq` (see [`shape`]): a jq filter may
    /// make 0, 1 or many records of it. A jq filter failing on it is an error carrying a
    /// [`shape::ShapeError`].
    pub fn write(&mut self, record: &Value) -> io::Result<()> {
        match shape::current() {
            None => self.write_plain(record),
            Some(shape) => {
                for value in shape.apply(record).map_err(io::Error::other)? {
                    self.write_plain(&value)?;
                }
                Ok(())
            }
        }
    }

    /// Writes one record as it is.
    fn write_plain(&mut self, record: &Value) -> io::Result<()> {
        match self.format {
            Format::Jsonl => {
                let text = serde_json::to_string(record).map_err(io::Error::other)?;
                self.out
                    .write_all(terminal_text::escape_json_controls(&text).as_bytes())?;
                self.out.write_all(b"\n")?;
            }
            Format::Json => {
                self.out
                    .write_all(if self.written == 0 { b"[\n" } else { b",\n" })?;
                let text = serde_json::to_string_pretty(record).map_err(io::Error::other)?;
                let text = terminal_text::escape_json_controls(&text);
                for (i, line) in text.lines().enumerate() {
                    if i > 0 {
                        self.out.write_all(b"\n")?;
                    }
                    write!(self.out, "  {line}")?;
                }
            }
            Format::Csv => {
                if self.csv_columns.is_none() {
                    let columns = columns_of(std::slice::from_ref(record));
                    let headers: Vec<Cow<'_, str>> = columns.iter().map(|c| csv_text(c)).collect();
                    write_csv_row(&mut self.out, headers.iter().map(|c| c.as_ref()))?;
                    self.csv_columns = Some(columns);
                }
                if let Some(columns) = &self.csv_columns {
                    let cells: Vec<String> = columns
                        .iter()
                        .map(|c| csv_text(&cell(record.get(c))).into_owned())
                        .collect();
                    write_csv_row(&mut self.out, cells.iter().map(|c| c.as_str()))?;
                }
            }
            Format::Table => {
                self.table_rows.push(record.clone());
                if self.table_rows.len() >= TABLE_BLOCK_ROWS {
                    // Printed now, so an endless listing streams in bounded memory.
                    self.written += 1;
                    self.print_table_block()?;
                    return self.out.flush();
                }
            }
        }
        self.written += 1;
        Ok(())
    }

    /// Prints the rows held as one table (after a blank line when a block came before).
    fn print_table_block(&mut self) -> io::Result<()> {
        if self.written > self.table_rows.len() {
            self.out.write_all(b"\n")?;
        }
        write_table(&mut self.out, &self.table_rows, self.table_width)?;
        self.table_rows.clear();
        Ok(())
    }

    /// Finishes the output (closes the JSON array, prints the table) and returns the count.
    pub fn finish(mut self) -> io::Result<usize> {
        match self.format {
            Format::Json if self.written == 0 => self.out.write_all(b"[]\n")?,
            Format::Json => self.out.write_all(b"\n]\n")?,
            Format::Table if self.table_rows.is_empty() && self.written > 0 => {}
            Format::Table => self.print_table_block()?,
            Format::Jsonl | Format::Csv => {}
        }
        self.out.flush()?;
        Ok(self.written)
    }
}

/// Writes one document (a record, a report) in `format`: JSON formats as JSON, CSV as a
/// one-row table, and a table as one `field  value` line per field. Shaped by `--fields` and
/// `--jq` first: when the jq filter makes other than one value of it, they are written as a
/// list.
pub fn write_one<W: Write>(out: W, format: Format, value: &Value) -> io::Result<()> {
    let Some(shape) = shape::current() else {
        return write_one_plain(out, format, value);
    };
    match shape.apply(value).map_err(io::Error::other)?.as_slice() {
        [one] => write_one_plain(out, format, one),
        values => {
            let mut writer = RecordWriter::new(out, format);
            for value in values {
                writer.write_plain(value)?;
            }
            writer.finish().map(|_| ())
        }
    }
}

/// [`write_one`] without the shape.
fn write_one_plain<W: Write>(out: W, format: Format, value: &Value) -> io::Result<()> {
    match format {
        Format::Json => {
            let mut out = out;
            let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
            out.write_all(terminal_text::escape_json_controls(&text).as_bytes())?;
            out.write_all(b"\n")
        }
        Format::Table => {
            let mut out = out;
            let Value::Object(map) = value else {
                return writeln!(out, "{}", table_text(&cell(Some(value))));
            };
            let keys: Vec<(String, &Value)> = ordered(map)
                .map(|(key, field)| (table_text(key), field))
                .collect();
            let width = keys.iter().map(|(k, _)| k.width()).max().unwrap_or(0);
            for (key, field) in keys {
                let pad = " ".repeat(width - key.width());
                writeln!(out, "{key}{pad}  {}", table_text(&cell(Some(field))))?;
            }
            out.flush()
        }
        _ => {
            let mut writer = RecordWriter::new(out, format);
            writer.write_plain(value)?;
            writer.finish().map(|_| ())
        }
    }
}

/// The columns of a set of records: top-level keys in first-seen order.
fn columns_of(records: &[Value]) -> Vec<String> {
    let mut columns: Vec<String> = Vec::new();
    for record in records {
        if let Value::Object(map) = record {
            for key in map.keys() {
                if !columns.iter().any(|c| c == key) {
                    columns.push(key.clone());
                }
            }
        }
    }
    if let Some(i) = columns.iter().position(|c| c == "id") {
        let id = columns.remove(i);
        columns.insert(0, id);
    }
    if columns.is_empty() && !records.is_empty() {
        columns.push("value".to_owned());
    }
    columns
}

/// The fields of an object, `id` first.
fn ordered(map: &serde_json::Map<String, Value>) -> impl Iterator<Item = (&String, &Value)> {
    map.iter()
        .filter(|(k, _)| *k == "id")
        .chain(map.iter().filter(|(k, _)| *k != "id"))
}

/// The text of one cell: strings bare, null empty, everything else as JSON.
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A key or value as a CSV field: line feeds and tabs kept (the field is quoted), every other
/// control character escaped.
fn csv_text(text: &str) -> Cow<'_, str> {
    terminal_text::escape_controls_except(text, &['\n', '\t'])
}

/// A key or value as table text: line breaks and tabs as spaces (a row stays one line), every
/// other control character escaped.
fn table_text(text: &str) -> String {
    terminal_text::escape_controls(&text.replace(['\n', '\r', '\t'], " ")).into_owned()
}

fn write_csv_row<'a, W: Write>(
    out: &mut W,
    cells: impl Iterator<Item = &'a str>,
) -> io::Result<()> {
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    writer.write_record(cells).map_err(io::Error::other)?;
    let bytes = writer
        .into_inner()
        .map_err(|e| io::Error::other(e.to_string()))?;
    out.write_all(&bytes)
}

/// The most rows a table holds before it is printed (columns are sized per block); the next
/// rows start a new table.
pub const TABLE_BLOCK_ROWS: usize = 1_000;

fn write_table<W: Write>(out: &mut W, rows: &[Value], width: Option<usize>) -> io::Result<()> {
    if rows.is_empty() {
        return writeln!(out, "(no records)");
    }
    let columns = columns_of(rows);
    let grid: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|c| {
                    let text = if row.is_object() {
                        cell(row.get(c))
                    } else {
                        cell(Some(row))
                    };
                    table_text(&text)
                })
                .collect()
        })
        .collect();
    let headers: Vec<String> = columns.iter().map(|c| table_text(c)).collect();
    table::write(out, &headers, &grid, width)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(format: Format, records: &[Value]) -> String {
        let mut buf = Vec::new();
        let mut writer = RecordWriter::new(&mut buf, format);
        for r in records {
            writer.write(r).unwrap();
        }
        assert_eq!(writer.finish().unwrap(), records.len());
        String::from_utf8(buf).unwrap()
    }

    fn sample() -> Vec<Value> {
        vec![
            json!({"id": "1", "name": "Ada, Countess", "tags": ["a"], "note": null}),
            json!({"id": "2", "name": "Grace \"Amazing\"", "tags": [], "note": "x"}),
        ]
    }

    #[test]
    fn jsonl_is_one_compact_document_per_line() {
        let text = render(Format::Jsonl, &sample());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            serde_json::from_str::<Value>(lines[1]).unwrap(),
            sample()[1]
        );
    }

    #[test]
    fn json_is_one_array_document() {
        let text = render(Format::Json, &sample());
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            Value::Array(sample())
        );
        assert_eq!(render(Format::Json, &[]).trim(), "[]");
    }

    #[test]
    fn csv_quotes_commas_and_quotes_and_writes_nested_values_as_json() {
        let text = render(Format::Csv, &sample());
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(
            reader.headers().unwrap(),
            vec!["id", "name", "note", "tags"]
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert_eq!(&rows[0][1], "Ada, Countess");
        assert_eq!(&rows[1][1], "Grace \"Amazing\"");
        assert_eq!(&rows[0][3], "[\"a\"]");
        assert_eq!(&rows[0][2], "");
    }

    #[test]
    fn a_long_table_is_printed_in_blocks_as_it_goes() {
        let rows: Vec<Value> = (0..TABLE_BLOCK_ROWS * 2 + 5)
            .map(|n| json!({"id": n}))
            .collect();
        let mut out = Vec::new();
        let mut writer = RecordWriter::new(&mut out, Format::Table);
        for row in &rows[..TABLE_BLOCK_ROWS] {
            writer.write(row).unwrap();
        }
        // The first block is out before the list ends: the text a list of as many rows prints.
        let block = render(Format::Table, &rows[..TABLE_BLOCK_ROWS]);
        assert_eq!(writer.out.as_slice(), block.as_bytes());
        for row in &rows[TABLE_BLOCK_ROWS..] {
            writer.write(row).unwrap();
        }
        assert_eq!(writer.finish().unwrap(), rows.len());
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().filter(|l| l.starts_with("id")).count(), 3);
        assert_eq!(
            text.lines()
                .filter(|l| l.trim().parse::<usize>().is_ok())
                .count(),
            rows.len()
        );
        assert!(!text.contains("(no records)"));
        assert_eq!(
            text.matches("\n\nid").count(),
            2,
            "a blank line between blocks"
        );
        let mut exact = Vec::new();
        let mut writer = RecordWriter::new(&mut exact, Format::Table);
        for row in &rows[..TABLE_BLOCK_ROWS] {
            writer.write(row).unwrap();
        }
        writer.finish().unwrap();
        let exact = String::from_utf8(exact).unwrap();
        assert!(!exact.contains("(no records)") && !exact.ends_with("\n\n"));
    }

    #[test]
    fn table_aligns_columns_and_shortens_long_cells() {
        let long = "x".repeat(100);
        let text = render(Format::Table, &[json!({"id": "1", "name": long})]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("id  name"), "{text}");
        assert!(lines[2].ends_with('…'), "{text}");
        assert_eq!(render(Format::Table, &[]).trim(), "(no records)");
    }

    const PWNED: &str = "\u{1b}]0;pwned\u{7}";

    fn hostile() -> Value {
        json!({"id": "1", PWNED: format!("a{PWNED}\n\tb\u{9b}c"), "name": "日本 é 🦀"})
    }

    fn no_controls_but_line_ends(text: &str) {
        let bad: Vec<char> = text
            .chars()
            .filter(|c| terminal_text::is_control(*c) && *c != '\n')
            .collect();
        assert!(bad.is_empty(), "{bad:?} in {text:?}");
    }

    #[test]
    fn table_shows_control_characters_of_keys_and_values_as_escapes() {
        let text = render(Format::Table, &[hostile()]);
        no_controls_but_line_ends(&text);
        assert!(text.contains("\\u{1b}]0;pwned\\u{7}"), "{text}");
        assert!(text.contains("日本 é 🦀"), "{text}");
        // Line breaks and tabs become spaces, as before.
        assert!(text.contains("\\u{7}  b\\u{9b}c"), "{text}");
        let mut one = Vec::new();
        write_one(&mut one, Format::Table, &hostile()).unwrap();
        let one = String::from_utf8(one).unwrap();
        no_controls_but_line_ends(&one);
        assert_eq!(one.lines().count(), 3, "{one}");
        let mut bare = Vec::new();
        write_one(&mut bare, Format::Table, &json!(PWNED)).unwrap();
        assert_eq!(String::from_utf8(bare).unwrap(), "\\u{1b}]0;pwned\\u{7}\n");
    }

    #[test]
    fn csv_shows_control_characters_as_escapes_and_stays_csv() {
        let text = render(Format::Csv, &[hostile()]);
        assert!(!text.contains(['\u{1b}', '\u{7}', '\u{9b}']), "{text:?}");
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let escaped = "\\u{1b}]0;pwned\\u{7}";
        assert_eq!(reader.headers().unwrap(), vec!["id", escaped, "name"]);
        let row = reader.records().next().unwrap().unwrap();
        assert_eq!(&row[1], format!("a{escaped}\n\tb\\u{{9b}}c"));
        assert_eq!(&row[2], "日本 é 🦀");
    }

    #[test]
    fn json_formats_keep_the_exact_value_with_its_controls_escaped_as_json() {
        for format in [Format::Json, Format::Jsonl] {
            let text = render(format, &[hostile()]);
            assert!(!text.contains(['\u{1b}', '\u{7}', '\u{9b}']), "{text:?}");
            assert!(text.contains("\\u001b]0;pwned\\u0007"), "{text}");
            assert!(text.contains("\\u009bc"), "{text}");
            let back: Value = serde_json::from_str(
                text.trim_start_matches('[')
                    .trim_end()
                    .trim_end_matches(']'),
            )
            .unwrap();
            assert_eq!(back, hostile());
        }
        let mut one = Vec::new();
        write_one(&mut one, Format::Json, &hostile()).unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&one).unwrap(), hostile());
    }
}
