//! The files of `dbsync export`: the output (appended, flushed and synced before each
//! checkpoint), the checkpoint and the state file (each replaced atomically: written to a
//! temporary file beside it, synced, renamed over it).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use dbsync_client::Checkpoint;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::exit::CliError;

/// The largest checkpoint or state file read, in bytes.
pub const MAX_SMALL_FILE_BYTES: u64 = 1 << 20;

/// What the checkpoint file holds: the scan's checkpoint and the length of the output written
/// up to it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Saved {
    /// The resource exported.
    pub resource: String,
    /// The kind of export (`full`, `since TIME`, `state`, `partition I/N`).
    pub kind: String,
    /// The output's length in bytes when the checkpoint was taken.
    pub bytes: u64,
    /// The scan's checkpoint.
    pub checkpoint: Checkpoint,
}

/// What the `--state` file holds.
#[derive(Debug, Serialize, Deserialize)]
pub struct State {
    /// The watermark the next incremental export starts from (RFC 3339).
    pub watermark: String,
}

/// The output file, appended to.
pub struct Output {
    writer: BufWriter<File>,
    bytes: u64,
    name: String,
}

impl Output {
    fn new(file: File, bytes: u64, path: &Path) -> Self {
        Self {
            writer: BufWriter::with_capacity(1 << 16, file),
            bytes,
            name: path.display().to_string(),
        }
    }

    /// Appends one record as a JSON line.
    pub fn write_record(&mut self, record: &Value) -> Result<(), CliError> {
        let mut line = serde_json::to_vec(record)
            .map_err(|e| CliError::other(format!("cannot encode a record: {e}")))?;
        line.push(b'\n');
        self.writer
            .write_all(&line)
            .map_err(|e| CliError::io(format!("cannot write {}", self.name), e))?;
        self.bytes += line.len() as u64;
        Ok(())
    }

    /// Flushes and syncs the output; returns its length.
    pub fn sync(&mut self) -> Result<u64, CliError> {
        let what = || format!("cannot write {}", self.name);
        self.writer.flush().map_err(|e| CliError::io(what(), e))?;
        self.writer
            .get_ref()
            .sync_data()
            .map_err(|e| CliError::io(what(), e))?;
        Ok(self.bytes)
    }
}

/// Creates (or empties) the output for a new export.
pub fn create_output(path: &Path) -> Result<Output, CliError> {
    let file = File::create(path)
        .map_err(|e| CliError::io(format!("cannot create {}", path.display()), e))?;
    Ok(Output::new(file, 0, path))
}

/// Opens the output of an export being resumed, cut back to the length its checkpoint saw
/// (records written after the checkpoint are written again by the resumed scan).
pub fn reopen_output(path: &Path, bytes: u64) -> Result<Output, CliError> {
    let what = || format!("cannot reopen {} to resume", path.display());
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| CliError::io(what(), e))?;
    let len = file.metadata().map_err(|e| CliError::io(what(), e))?.len();
    if len < bytes {
        return Err(CliError::other(format!(
            "{} has {len} bytes but its checkpoint saw {bytes}: it was changed since; remove the \
             checkpoint to export again",
            path.display()
        )));
    }
    file.set_len(bytes).map_err(|e| CliError::io(what(), e))?;
    file.seek(SeekFrom::End(0))
        .map_err(|e| CliError::io(what(), e))?;
    Ok(Output::new(file, bytes, path))
}

/// Reads a small JSON file; `None` when it does not exist.
fn read_small<T: for<'de> Deserialize<'de>>(
    path: &Path,
    what: &str,
) -> Result<Option<T>, CliError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CliError::io(format!("cannot open {}", path.display()), e)),
    };
    let mut text = Vec::new();
    file.take(MAX_SMALL_FILE_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(|e| CliError::io(format!("cannot read {}", path.display()), e))?;
    if text.len() as u64 > MAX_SMALL_FILE_BYTES {
        return Err(CliError::other(format!(
            "{} is larger than {MAX_SMALL_FILE_BYTES} bytes: not a {what}",
            path.display()
        )));
    }
    serde_json::from_slice(&text).map(Some).map_err(|e| {
        CliError::other(format!(
            "{} is not a {what} of dbsync export: {e}",
            path.display()
        ))
    })
}

/// Writes `value` as JSON to a temporary file beside `path`, syncs it and renames it over
/// `path`: a reader sees the old file or the new one, never half of one.
fn replace_atomically(path: &Path, value: &impl Serialize) -> Result<(), CliError> {
    let what = || format!("cannot write {}", path.display());
    let text =
        serde_json::to_vec(value).map_err(|e| CliError::other(format!("{}: {e}", what())))?;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp: PathBuf = path.with_file_name(name);
    let mut file = File::create(&tmp).map_err(|e| CliError::io(what(), e))?;
    file.write_all(&text).map_err(|e| CliError::io(what(), e))?;
    file.sync_all().map_err(|e| CliError::io(what(), e))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(|e| CliError::io(what(), e))?;
    sync_dir(path);
    Ok(())
}

/// Syncs the directory of `path` so that a rename or removal survives a crash (best effort).
fn sync_dir(path: &Path) {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
}

/// The checkpoint file, if there is one.
pub fn read_checkpoint(path: &Path) -> Result<Option<Saved>, CliError> {
    read_small(path, "checkpoint")
}

/// Replaces the checkpoint file atomically.
pub fn write_checkpoint(path: &Path, saved: &Saved) -> Result<(), CliError> {
    replace_atomically(path, saved)
}

/// Removes the checkpoint of a completed export.
pub fn remove_checkpoint(path: &Path) -> Result<(), CliError> {
    match std::fs::remove_file(path) {
        Ok(()) => {
            sync_dir(path);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CliError::io(format!("cannot remove {}", path.display()), e)),
    }
}

/// The state file, if there is one.
pub fn read_state(path: &Path) -> Result<Option<State>, CliError> {
    read_small(path, "state file")
}

/// Replaces the state file atomically.
pub fn write_state(path: &Path, state: &State) -> Result<(), CliError> {
    replace_atomically(path, state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_output_is_cut_back_to_the_checkpoint_and_a_shorter_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        std::fs::write(&path, "{\"a\":1}\n{\"a\":2}\n{\"a\":").unwrap();
        let mut out = reopen_output(&path, 16).unwrap();
        out.write_record(&serde_json::json!({"a": 3})).unwrap();
        assert_eq!(out.sync().unwrap(), 24);
        drop(out);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n"
        );
        let error = reopen_output(&path, 100).err().unwrap();
        assert!(error.message.contains("changed since"), "{}", error.message);
    }

    #[test]
    fn a_state_file_is_replaced_whole_and_a_bad_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert!(read_state(&path).unwrap().is_none());
        write_state(
            &path,
            &State {
                watermark: "2024-01-01T00:00:00Z".into(),
            },
        )
        .unwrap();
        assert_eq!(
            read_state(&path).unwrap().unwrap().watermark,
            "2024-01-01T00:00:00Z"
        );
        assert!(!dir.path().join("state.json.tmp").exists());
        std::fs::write(&path, "{").unwrap();
        let error = read_state(&path).err().unwrap();
        assert!(
            error.message.contains("not a state file"),
            "{}",
            error.message
        );
    }
}
