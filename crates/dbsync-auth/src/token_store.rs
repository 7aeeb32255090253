//! Persisting OAuth 2.0 tokens across restarts and between processes.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{AuthError, Secret};

/// An OAuth 2.0 token as it is persisted by a [`TokenStore`].
///
/// `Debug` is redacted. **`Serialize` writes the access and refresh tokens in clear**: that is
/// its purpose (a store must be able to read them back), so serialize it only into storage that
/// is as protected as a password file (the [`FileTokenStore`] writes owner-only files).
///
/// The JSON form is
/// `{"access_token":"...","refresh_token":"...","expires_at":1767225600,"scopes":["records:read"]}`
/// with `expires_at` in unix seconds (`null` when the server gave no `expires_in`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredToken {
    /// The access token.
    #[serde(serialize_with = "expose", deserialize_with = "secret")]
    pub access_token: Secret,
    /// The refresh token, if the server issued one.
    #[serde(
        default,
        serialize_with = "expose_option",
        deserialize_with = "secret_option"
    )]
    pub refresh_token: Option<Secret>,
    /// When the access token expires; `None` when the server did not say (it is then used until
    /// the server rejects it).
    #[serde(default, with = "unix_seconds")]
    pub expires_at: Option<SystemTime>,
    /// The scopes granted (or requested, when the server did not list them).
    #[serde(default)]
    pub scopes: Vec<String>,
}

impl fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredToken")
            .field("access_token", &self.access_token)
            .field("refresh_token", &self.refresh_token)
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .finish()
    }
}

fn expose<S: Serializer>(secret: &Secret, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose())
}

fn expose_option<S: Serializer>(secret: &Option<Secret>, serializer: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => serializer.serialize_some(secret.expose()),
        None => serializer.serialize_none(),
    }
}

fn secret<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
    String::deserialize(deserializer).map(Secret::new)
}

fn secret_option<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Secret>, D::Error> {
    Option::<String>::deserialize(deserializer).map(|value| value.map(Secret::new))
}

mod unix_seconds {
    use super::*;

    pub(super) fn serialize<S: Serializer>(
        time: &Option<SystemTime>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => {
                let seconds = time
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                serializer.serialize_some(&seconds)
            }
            None => serializer.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<SystemTime>, D::Error> {
        let seconds = Option::<u64>::deserialize(deserializer)?;
        Ok(seconds.and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s))))
    }
}

/// Where an [`crate::OAuth2Auth`] keeps its tokens so they survive a restart and can be shared
/// with other processes.
///
/// Use one store per client and set of scopes: a token found in the store is used as it is.
///
/// Before every token request the strategy calls [`TokenStore::load`] (another process may have
/// refreshed or rotated the token meanwhile) and after every successful one
/// [`TokenStore::save`]. A store that can be shared between processes should make `save`
/// atomic (the [`FileTokenStore`] writes a temporary file and renames it).
#[async_trait]
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// The newest token, or `None` when the store is empty.
    async fn load(&self) -> Result<Option<StoredToken>, AuthError>;
    /// Replaces the stored token.
    async fn save(&self, token: &StoredToken) -> Result<(), AuthError>;
}

/// A [`TokenStore`] in memory: shares tokens between strategies of one process, forgets them on
/// exit. Useful in tests and as a template.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    token: Mutex<Option<StoredToken>>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store that already holds `token`.
    pub fn with_token(token: StoredToken) -> Self {
        Self {
            token: Mutex::new(Some(token)),
        }
    }

    /// The token held now.
    pub fn get(&self) -> Option<StoredToken> {
        match self.token.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the token held (as another process would).
    pub fn set(&self, token: Option<StoredToken>) {
        match self.token.lock() {
            Ok(mut guard) => *guard = token,
            Err(poisoned) => *poisoned.into_inner() = token,
        }
    }
}

#[async_trait]
impl TokenStore for MemoryTokenStore {
    async fn load(&self) -> Result<Option<StoredToken>, AuthError> {
        Ok(self.get())
    }
    async fn save(&self, token: &StoredToken) -> Result<(), AuthError> {
        self.set(Some(token.clone()));
        Ok(())
    }
}

/// A [`TokenStore`] in a JSON file.
///
/// The file is written with owner-only permissions (`0600` on unix) through a temporary file in
/// the same directory that is then renamed over the old one, so a reader (or a crash) never sees
/// a half-written token. A missing file is an empty store.
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    path: PathBuf,
}

impl FileTokenStore {
    /// A store in the file at `path` (created on the first save; its directory must exist).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait]
impl TokenStore for FileTokenStore {
    async fn load(&self) -> Result<Option<StoredToken>, AuthError> {
        let path = self.path.clone();
        run_blocking(move || read_token_file(&path)).await
    }

    async fn save(&self, token: &StoredToken) -> Result<(), AuthError> {
        let path = self.path.clone();
        // Serialized here so that no secret crosses into an error message.
        let json = serde_json::to_vec_pretty(token).map_err(|_| {
            AuthError::token_store("the token could not be serialized to JSON (this is a bug)")
        })?;
        run_blocking(move || write_token_file(&path, &json)).await
    }
}

async fn run_blocking<T: Send + 'static>(
    job: impl FnOnce() -> Result<T, AuthError> + Send + 'static,
) -> Result<T, AuthError> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|_| AuthError::token_store("the token file task was cancelled"))?
}

fn read_token_file(path: &Path) -> Result<Option<StoredToken>, AuthError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(AuthError::token_store(format!(
                "cannot read the token file `{}`: {error}; check its permissions",
                path.display()
            )));
        }
    };
    // The serde error message may quote a value from the file (a token), so only its position
    // and kind are reported.
    serde_json::from_slice(&bytes).map(Some).map_err(|error| {
        AuthError::token_store(format!(
            "the token file `{}` is not a valid token ({:?} error at line {}, column {}); \
             delete it to obtain a new token",
            path.display(),
            error.classify(),
            error.line(),
            error.column()
        ))
    })
}

fn write_token_file(path: &Path, json: &[u8]) -> Result<(), AuthError> {
    crate::private_file::write_atomically(path, json).map_err(|error| {
        AuthError::token_store(format!(
            "cannot write the token file `{}`: {error}; check that its directory exists and is \
             writable",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> StoredToken {
        StoredToken {
            access_token: Secret::new("access-XYZ"),
            refresh_token: Some(Secret::new("refresh-XYZ")),
            expires_at: Some(UNIX_EPOCH + Duration::from_secs(1_767_225_600)),
            scopes: vec!["records:read".to_owned()],
        }
    }

    #[test]
    fn debug_is_redacted_but_json_round_trips() {
        let token = token();
        let debug = format!("{token:?}");
        assert!(!debug.contains("XYZ"), "{debug}");
        assert!(debug.contains("records:read"), "{debug}");
        let json = serde_json::to_value(&token).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "access_token": "access-XYZ",
                "refresh_token": "refresh-XYZ",
                "expires_at": 1_767_225_600u64,
                "scopes": ["records:read"],
            })
        );
        let back: StoredToken = serde_json::from_value(json).unwrap();
        assert_eq!(back, token);
    }

    #[test]
    fn optional_fields_may_be_missing() {
        let back: StoredToken = serde_json::from_str(r#"{"access_token":"a"}"#).unwrap();
        assert_eq!(back.access_token.expose(), "a");
        assert_eq!(back.refresh_token, None);
        assert_eq!(back.expires_at, None);
        assert!(back.scopes.is_empty());
    }

    #[tokio::test]
    async fn file_store_round_trips_with_owner_only_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileTokenStore::new(dir.path().join("token.json"));
        assert_eq!(store.load().await.unwrap(), None);
        store.save(&token()).await.unwrap();
        assert_eq!(store.load().await.unwrap(), Some(token()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(store.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Nothing but the token file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("token.json")]);
    }

    #[tokio::test]
    async fn corrupt_file_is_a_clear_error_without_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token.json");
        std::fs::write(
            &path,
            r#"{"access_token": 42, "refresh_token": "refresh-XYZ"}"#,
        )
        .unwrap();
        let error = FileTokenStore::new(&path).load().await.unwrap_err();
        let message = error.to_string();
        assert!(message.contains("token.json"), "{message}");
        assert!(message.contains("delete it"), "{message}");
        assert!(!message.contains("XYZ") && !format!("{error:?}").contains("XYZ"));
    }

    #[tokio::test]
    async fn a_failed_save_leaves_nothing_half_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileTokenStore::new(dir.path().join("token.json"));
        store.save(&token()).await.unwrap();

        // The target is a (non-empty) directory: the final rename fails.
        let blocked = dir.path().join("blocked");
        std::fs::create_dir(&blocked).unwrap();
        std::fs::write(blocked.join("keep"), "x").unwrap();
        let error = FileTokenStore::new(&blocked)
            .save(&token())
            .await
            .unwrap_err();
        assert!(error.to_string().contains("blocked"), "{error}");
        assert!(!format!("{error} {error:?}").contains("XYZ"));

        let missing_dir = FileTokenStore::new(dir.path().join("nope").join("token.json"));
        let error = missing_dir.save(&token()).await.unwrap_err();
        assert!(error.to_string().contains("directory exists"), "{error}");

        // The good token is intact and no temporary file is left behind.
        assert_eq!(store.load().await.unwrap(), Some(token()));
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, vec!["blocked", "token.json"]);
        assert_eq!(std::fs::read_to_string(blocked.join("keep")).unwrap(), "x");
    }
}
