//! `dbsync delete`: ids from the command line, a file or stdin (one per line), `--dry-run`, and
//! the confirmation asked before deleting more than [`CONFIRM_ABOVE`] records.

use std::io::{BufRead as _, BufReader, IsTerminal as _, Read, Write as _};
use std::path::{Path, PathBuf};

use dbsync_client::Connection;
use serde_json::json;

use crate::exit::{CliError, Exit, report_write};
use crate::output::{Format, RecordWriter};

/// Deleting more records than this asks first (or needs `--yes`).
pub const CONFIRM_ABOVE: usize = 10;
/// The most ids one command reads.
pub const MAX_IDS: usize = 1_000_000;
/// The longest id line, in bytes.
pub const MAX_ID_BYTES: usize = 1024;

/// `dbsync delete`
#[derive(Debug, clap::Args)]
pub struct DeleteArgs {
    /// The record ids; `-` alone reads them from stdin, one per line.
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub ids: Vec<String>,
    /// The resource.
    #[arg(short, long, default_value = "records")]
    pub resource: String,
    /// Read the ids from this file, one per line (blank lines skipped; `-` for stdin).
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Print the ids that would be deleted and delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Delete more than 10 records without asking (needed when stdin or stderr is not a
    /// terminal, or the ids come from stdin).
    #[arg(short, long)]
    pub yes: bool,
}

/// `dbsync delete`
pub async fn run(
    connection: &Connection,
    args: &DeleteArgs,
    format: Format,
) -> Result<(), CliError> {
    let (ids, from_stdin) = match (&args.file, args.ids.as_slice()) {
        (Some(file), _) => (read_ids_from(file)?, file.as_os_str() == "-"),
        (None, [dash]) if dash == "-" => (read_ids_from(Path::new("-"))?, true),
        (None, ids) => (ids.to_vec(), false),
    };
    if ids.is_empty() {
        return Err(CliError::usage("no ids to delete: the input holds none"));
    }
    if args.dry_run {
        let mut writer = RecordWriter::new(std::io::stdout().lock(), format);
        for id in &ids {
            report_write(writer.write(&json!({"id": id, "would_delete": true})))?;
        }
        report_write(writer.finish())?;
        eprintln!(
            "dbsync: dry run: {} record(s) of `{}` would be deleted; nothing was sent",
            ids.len(),
            args.resource
        );
        return Ok(());
    }
    if ids.len() > CONFIRM_ABOVE && !args.yes {
        let terminal =
            !from_stdin && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        if !terminal {
            return Err(CliError::usage(format!(
                "refusing to delete {} records without confirmation (more than {CONFIRM_ABOVE}, \
                 and no terminal to ask on): pass --yes, or --dry-run to see them",
                ids.len()
            )));
        }
        if !confirm(ids.len(), &args.resource)? {
            return Err(CliError::other("nothing was deleted"));
        }
    }
    crate::records::delete(connection, &args.resource, &ids, format).await
}

/// Asks on the terminal; `true` for `y` or `yes`.
fn confirm(count: usize, resource: &str) -> Result<bool, CliError> {
    eprint!("Delete {count} records of `{resource}`? This cannot be undone. [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .take(256)
        .read_line(&mut answer)
        .map_err(|e| CliError::io("cannot read the answer", e))?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// The ids of `path` (`-` is stdin), one per line.
fn read_ids_from(path: &Path) -> Result<Vec<String>, CliError> {
    let name = path.display().to_string();
    if path.as_os_str() == "-" {
        if std::io::stdin().is_terminal() {
            return Err(CliError::usage(
                "the ids were to come from stdin, but stdin is a terminal: pipe them in or give \
                 --file FILE",
            ));
        }
        return read_ids(std::io::stdin().lock(), "stdin");
    }
    let file =
        std::fs::File::open(path).map_err(|e| CliError::io(format!("cannot open {name}"), e))?;
    read_ids(BufReader::new(file), &name)
}

/// One id per line: surrounding blanks trimmed, blank lines skipped; a line too long, with a
/// control character or not UTF-8 is refused with its line number, before anything is sent.
pub fn read_ids(reader: impl std::io::BufRead, name: &str) -> Result<Vec<String>, CliError> {
    let bad = |line: usize, why: &str| {
        CliError::new(
            Exit::Validation,
            format!("{name} line {line}: {why}; nothing was deleted"),
        )
    };
    let mut ids = Vec::new();
    let mut reader = reader;
    let mut buf = Vec::new();
    let mut line = 0;
    loop {
        buf.clear();
        let limit = MAX_ID_BYTES as u64 + 2;
        let read = (&mut reader)
            .take(limit)
            .read_until(b'\n', &mut buf)
            .map_err(|e| CliError::io(format!("cannot read {name}"), e))?;
        if read == 0 {
            return Ok(ids);
        }
        line += 1;
        let too_long = || bad(line, &format!("longer than {MAX_ID_BYTES} bytes"));
        if buf.len() as u64 >= limit && buf.last() != Some(&b'\n') {
            return Err(too_long());
        }
        let text = std::str::from_utf8(&buf).map_err(|_| bad(line, "not UTF-8"))?;
        let id = text.trim();
        if id.len() > MAX_ID_BYTES {
            return Err(too_long());
        }
        if id.is_empty() {
            continue;
        }
        if id.chars().any(char::is_control) {
            return Err(bad(line, "the id has a control character"));
        }
        if ids.len() == MAX_IDS {
            return Err(bad(line, &format!("more than {MAX_IDS} ids")));
        }
        ids.push(id.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_read_one_per_line_and_bad_lines_are_refused() {
        let ids = read_ids(&b" 1 \n\n2\r\nabc-3"[..], "ids").unwrap();
        assert_eq!(ids, ["1", "2", "abc-3"]);
        let long = format!("1\n{}\n", "x".repeat(MAX_ID_BYTES + 1));
        let error = read_ids(long.as_bytes(), "ids").unwrap_err();
        assert_eq!(error.exit, Exit::Validation);
        assert!(error.message.contains("ids line 2"), "{}", error.message);
        let error = read_ids(&b"1\n2\x1b[2J\n"[..], "ids").unwrap_err();
        assert!(
            error.message.contains("line 2: the id has a control"),
            "{}",
            error.message
        );
        let at_limit = format!("{}\n", "y".repeat(MAX_ID_BYTES));
        assert_eq!(read_ids(at_limit.as_bytes(), "ids").unwrap().len(), 1);
    }
}
