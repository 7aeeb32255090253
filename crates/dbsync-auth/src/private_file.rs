//! Files that may hold secrets or records (tokens, settings, failures journals, log exports),
//! written one safe way: a new file with a random name, created exclusively (a planted file or
//! symlink is never followed), readable by its owner only (`0600` on unix), synced to disk, then
//! renamed over the target in one step, so a reader or a crash never sees half a file. Built on
//! the `tempfile` crate.

use std::fs::File;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// Writes `contents` to `path` as a whole: a private temporary file beside it, synced, then
/// renamed over `path` (an existing file is replaced, never reused with its permissions). On
/// any failure `path` is left as it was and the temporary file is removed.
pub fn write_atomically(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = PrivateFile::beside(path)?;
    file.as_file_mut().write_all(contents)?;
    file.commit(path)
}

/// Creates `path` for writing as a run goes (a failures journal): owner-only from its creation
/// on unix (an existing file is truncated and made owner-only).
pub fn create_private(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let file = options.open(path)?;
    // The mode applies only to a new file: an existing one is made private too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

/// A file being written before it takes its final name (see [`write_atomically`]): created
/// beside the target, private, removed if dropped before [`PrivateFile::commit`].
#[derive(Debug)]
pub struct PrivateFile {
    file: NamedTempFile,
}

impl PrivateFile {
    /// A new private temporary file in the directory of `target` (so the final rename stays on
    /// one file system).
    pub fn beside(target: &Path) -> io::Result<Self> {
        let dir = match target.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .map(|name| format!(".{}.", name.to_string_lossy()))
            .unwrap_or_else(|| ".dbsync.".to_owned());
        let file = tempfile::Builder::new()
            .prefix(&name)
            .suffix(".tmp")
            .tempfile_in(dir)?;
        Ok(Self { file })
    }

    /// The open file, to write to.
    pub fn as_file_mut(&mut self) -> &mut File {
        self.file.as_file_mut()
    }

    /// The temporary file's path (for messages).
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Syncs the file and renames it over `target`.
    pub fn commit(self, target: &Path) -> io::Result<()> {
        self.file.as_file().sync_all()?;
        self.file.persist(target).map_err(|e| e.error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_file_replaces_the_old_one_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token.json");
        std::fs::write(&path, "old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        write_atomically(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Nothing else is left in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_symlink_at_a_predictable_name_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep me").unwrap();
        let path = dir.path().join("token.json");
        // The old token store wrote `.token.json.<pid>.<n>.tmp`; plant links at such names.
        for n in 0..4 {
            let name = format!(".token.json.{}.{n}.tmp", std::process::id());
            std::os::unix::fs::symlink(&victim, dir.path().join(name)).unwrap();
        }
        write_atomically(&path, b"secret").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "secret");
    }

    #[test]
    fn a_failed_write_leaves_the_target_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a non-empty directory: the final rename fails.
        let target = dir.path().join("target");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("inside"), "x").unwrap();
        assert!(write_atomically(&target, b"new").is_err());
        assert!(target.join("inside").exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_journal_is_created_private_even_over_an_open_file() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("failed.jsonl");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut file = create_private(&path).unwrap();
        file.write_all(b"{}\n").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}\n");
    }
}
