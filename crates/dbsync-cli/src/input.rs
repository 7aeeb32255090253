//! Reading records from a file or stdin, each with its line number: JSON Lines read line by
//! line (any size, bounded memory), or one JSON array (read whole, its elements parsed one at a
//! time so each keeps the line it starts on).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use serde_json::Value;

use crate::exit::{CliError, Exit};

/// One input record: the line it starts on, and the record or why it is not one.
#[derive(Debug)]
pub struct InputRecord {
    /// 1-based line number in the input.
    pub line: u64,
    /// The record, or a description of what is wrong with the line and the line's text.
    pub value: Result<Value, (String, String)>,
}

/// Records from a JSON Lines or JSON array input.
pub enum Input {
    /// JSON Lines, read as it goes.
    Lines {
        /// The reader.
        reader: Box<dyn BufRead + Send>,
        /// The number of the last line read.
        line: u64,
        /// Where it comes from, for messages.
        name: String,
    },
    /// A JSON array, already parsed into its elements.
    Array(std::vec::IntoIter<InputRecord>),
    /// Records made elsewhere (CSV rows, see [`crate::csv_input`]).
    Records(Box<dyn Iterator<Item = Result<InputRecord, CliError>> + Send>),
}

/// Opens `path` (`-` is stdin) and tells JSON Lines from a JSON array by its first character.
pub fn open(path: &Path) -> Result<Input, CliError> {
    let (mut reader, name) = reader(path)?;
    // The first significant byte tells the kinds apart; a first chunk of whitespace only is
    // read as JSON Lines, which skips blank lines.
    let buf = reader.fill_buf().map_err(|e| CliError::io(&name, e))?;
    let first = buf.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first == Some(b'[') {
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .map_err(|e| CliError::io(&name, e))?;
        return Ok(Input::Array(parse_array(&bytes, &name)?.into_iter()));
    }
    Ok(Input::Lines {
        reader,
        line: 0,
        name,
    })
}

/// Opens `path` (`-` is stdin) as JSON Lines, whatever its first character: each line stands
/// alone, so a malformed one is reported at its line and the others are still read (a failures
/// file).
pub fn open_lines(path: &Path) -> Result<Input, CliError> {
    let (reader, name) = reader(path)?;
    Ok(Input::Lines {
        reader,
        line: 0,
        name,
    })
}

fn reader(path: &Path) -> Result<(Box<dyn BufRead + Send>, String), CliError> {
    let name = path.display().to_string();
    let reader: Box<dyn BufRead + Send> = if path.as_os_str() == "-" {
        Box::new(BufReader::new(io::stdin()))
    } else {
        let file = File::open(path).map_err(|e| CliError::io(format!("cannot open {name}"), e))?;
        Box::new(BufReader::with_capacity(1 << 16, file))
    };
    Ok((reader, name))
}

impl Iterator for Input {
    type Item = Result<InputRecord, CliError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Input::Array(records) => records.next().map(Ok),
            Input::Records(records) => records.next(),
            Input::Lines { reader, line, name } => {
                let mut buf = Vec::new();
                loop {
                    buf.clear();
                    match reader.read_until(b'\n', &mut buf) {
                        Ok(0) => return None,
                        Ok(_) => {}
                        Err(e) => return Some(Err(CliError::io(&*name, e))),
                    }
                    *line += 1;
                    if buf.iter().all(|b| b.is_ascii_whitespace()) {
                        continue;
                    }
                    let value = serde_json::from_slice::<Value>(&buf).map_err(|e| {
                        let raw = String::from_utf8_lossy(&buf).trim_end().to_owned();
                        (format!("not a JSON document: {e}"), raw)
                    });
                    return Some(Ok(InputRecord { line: *line, value }));
                }
            }
        }
    }
}

/// The elements of a JSON array with the line each starts on. A malformed array is an error
/// naming the line, before anything is sent.
fn parse_array(bytes: &[u8], name: &str) -> Result<Vec<InputRecord>, CliError> {
    let invalid = |line: u64, what: String| {
        CliError::new(Exit::Validation, format!("{name} line {line}: {what}"))
    };
    let mut records = Vec::new();
    let mut pos = 0usize;
    let mut line = 1u64;
    let mut counted = 0usize;
    let line_at = |pos: usize, line: &mut u64, counted: &mut usize| {
        *line += bytes[*counted..pos].iter().filter(|b| **b == b'\n').count() as u64;
        *counted = pos;
        *line
    };
    let skip_ws = |pos: &mut usize| {
        while bytes.get(*pos).is_some_and(|b| b.is_ascii_whitespace()) {
            *pos += 1;
        }
    };
    skip_ws(&mut pos);
    if bytes.get(pos) != Some(&b'[') {
        return Err(invalid(1, "expected a JSON array".into()));
    }
    pos += 1;
    skip_ws(&mut pos);
    if bytes.get(pos) == Some(&b']') {
        pos += 1;
    } else {
        loop {
            skip_ws(&mut pos);
            let start_line = line_at(pos, &mut line, &mut counted);
            let mut stream =
                serde_json::Deserializer::from_slice(&bytes[pos..]).into_iter::<Value>();
            match stream.next() {
                Some(Ok(value)) => {
                    pos += stream.byte_offset();
                    records.push(InputRecord {
                        line: start_line,
                        value: Ok(value),
                    });
                }
                Some(Err(e)) => {
                    return Err(invalid(
                        start_line,
                        format!("not valid JSON in the array: {e}"),
                    ));
                }
                None => return Err(invalid(start_line, "the array is not closed".into())),
            }
            skip_ws(&mut pos);
            match bytes.get(pos) {
                Some(b',') => pos += 1,
                Some(b']') => {
                    pos += 1;
                    break;
                }
                _ => {
                    let at = line_at(pos, &mut line, &mut counted);
                    return Err(invalid(
                        at,
                        "expected `,` or `]` after an array element".into(),
                    ));
                }
            }
        }
    }
    skip_ws(&mut pos);
    if pos != bytes.len() {
        let at = line_at(pos, &mut line, &mut counted);
        return Err(invalid(at, "unexpected text after the JSON array".into()));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    type Read = Vec<(u64, Result<Value, (String, String)>)>;

    fn read(text: &str) -> Read {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        open(file.path())
            .unwrap()
            .map(|r| r.unwrap())
            .map(|r| (r.line, r.value))
            .collect()
    }

    #[test]
    fn json_lines_keep_line_numbers_and_skip_blank_lines() {
        let records = read("{\"a\":1}\n\n{\"a\":2}\nnot json\n");
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].0, 1);
        assert_eq!(records[1].0, 3);
        assert_eq!(records[1].1.as_ref().unwrap()["a"], 2);
        assert_eq!(records[2].0, 4);
        assert!(records[2].1.is_err());
    }

    #[test]
    fn array_elements_keep_the_line_they_start_on() {
        let records = read("[\n  {\"a\":1},\n  {\"a\":\n 2}, {\"a\":3}\n]\n");
        let lines: Vec<u64> = records.iter().map(|r| r.0).collect();
        assert_eq!(lines, vec![2, 3, 4]);
        assert!(read("[]").is_empty());
    }

    #[test]
    fn a_malformed_array_is_refused_with_its_line() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(b"[\n{\"a\":1},\n{\"a\":}\n]").unwrap();
        let error = open(file.path()).err().unwrap();
        assert_eq!(error.exit, Exit::Validation);
        assert!(error.message.contains("line 3"), "{}", error.message);
    }
}
