//! "Save Connection": writing settings JSON with owner-only permissions.

use std::path::{Path, PathBuf};

use super::model::ConnectionSettings;
use crate::error::Error;

/// How [`ConnectionSettings::save`] writes secrets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SaveOptions {
    /// Write literal secrets into the file. Off by default: a literal secret is then written
    /// as a reference to its standard variable (`${DBSYNC_PASSWORD}`, `${DBSYNC_TOKEN}`,
    /// `${DBSYNC_CLIENT_SECRET}`), which the user sets when loading the file. `${NAME}`
    /// references are always written as references.
    pub include_secrets: bool,
}

impl SaveOptions {
    /// Whether to write literal secrets into the file (see [`SaveOptions::include_secrets`]).
    pub fn with_secrets(mut self, include: bool) -> Self {
        self.include_secrets = include;
        self
    }
}

/// What [`ConnectionSettings::save`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SaveReport {
    /// The file written.
    pub path: PathBuf,
    /// The secret fields written as references instead of their values (with the reference).
    pub secrets_as_references: Vec<String>,
}

impl ConnectionSettings {
    /// Writes the settings as pretty JSON to `path`, readable and writable by the owner only
    /// (mode `0600` on unix, set when the file is created). The file is written to a temporary
    /// file beside it and renamed into place, so a failure never leaves a half-written file and
    /// an existing file with wider permissions is replaced, not reused.
    pub fn save(&self, path: impl AsRef<Path>, options: SaveOptions) -> Result<SaveReport, Error> {
        let path = path.as_ref();
        let (json, secrets_as_references) = self.to_json(options.include_secrets);
        let mut text = serde_json::to_string_pretty(&json)
            .map_err(|e| Error::config(format!("could not serialise the settings: {e}")))?;
        text.push('\n');
        dbsync_auth::private_file::write_atomically(path, text.as_bytes()).map_err(|e| {
            Error::config(format!(
                "could not write the settings to `{}`: {e}",
                path.display()
            ))
        })?;
        Ok(SaveReport {
            path: path.to_path_buf(),
            secrets_as_references,
        })
    }
}
