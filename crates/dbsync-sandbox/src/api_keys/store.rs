//! The stored API keys: only a SHA-256 hash of each secret, looked up in a map; each key's
//! scopes and optional expiry; a cap on how many exist.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::ops_util::{now_utc, random_secret, rfc3339, sha256};
use crate::scopes::{Scope, Scopes};

/// Every key starts with this, so a leaked key is easy to recognise.
pub(super) const KEY_PREFIX: &str = "dbs_";
/// How many leading characters of a key are shown in listings.
const SHOWN_PREFIX_LEN: usize = 12;
/// How many API keys a sandbox holds unless configured otherwise.
pub const DEFAULT_MAX_API_KEYS: usize = 1000;

type Hash = [u8; 32];

#[derive(Debug)]
struct ApiKey {
    id: String,
    name: String,
    created_at: OffsetDateTime,
    last_used_at: Option<OffsetDateTime>,
    prefix: String,
    hash: Hash,
    scopes: Scopes,
    /// The expiry as given (shown in listings).
    expires_at: Option<SystemTime>,
    /// The same instant on tokio's clock (checked on use), so tests can advance past it.
    deadline: Option<Instant>,
}

impl ApiKey {
    fn live(&self) -> bool {
        self.deadline.is_none_or(|d| Instant::now() < d)
    }

    fn summary(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "created_at": rfc3339(self.created_at),
            "last_used_at": self.last_used_at.map(rfc3339),
            "prefix": self.prefix,
            "scopes": self.scopes.names(),
            "expires_at": self.expires_at.map(dbsync_contract::timestamp::format),
        })
    }

    fn with_secret(&self, secret: &str) -> Value {
        let mut body = self.summary();
        if let Some(map) = body.as_object_mut() {
            map.insert("key".to_owned(), json!(secret));
        }
        body
    }
}

#[derive(Debug, Default)]
struct Keys {
    /// By the number in the id, so listings come in creation order.
    keys: BTreeMap<u64, ApiKey>,
    /// The hash of each live secret, to the number of its key.
    by_hash: HashMap<Hash, u64>,
    next_id: u64,
}

impl Keys {
    fn number(&self, id: &str) -> Option<u64> {
        let number = id.strip_prefix("key_")?.parse().ok()?;
        self.keys
            .get(&number)
            .is_some_and(|k| k.id == id)
            .then_some(number)
    }
}

/// Why a change to a key was refused.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum KeyError {
    /// No key has this id.
    NotFound,
    /// The key has scopes the caller lacks (these).
    Broader(Vec<Scope>),
    /// The store holds its maximum number of keys.
    Full(usize),
}

/// The API keys of a sandbox.
#[derive(Debug)]
pub(crate) struct ApiKeyStore {
    inner: Mutex<Keys>,
    max_keys: usize,
}

impl Default for ApiKeyStore {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_API_KEYS)
    }
}

fn new_secret() -> (String, String, Hash) {
    let secret = random_secret(KEY_PREFIX);
    let prefix = secret.chars().take(SHOWN_PREFIX_LEN).collect();
    let hash = sha256(&secret);
    (secret, prefix, hash)
}

impl ApiKeyStore {
    /// A store that holds at most `max_keys` keys.
    pub(crate) fn new(max_keys: usize) -> Self {
        Self {
            inner: Mutex::new(Keys::default()),
            max_keys,
        }
    }

    fn keys(&self) -> MutexGuard<'_, Keys> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The scopes of `token` when it is a live, unexpired key; its `last_used_at` becomes now.
    /// One map lookup by the secret's SHA-256 (a hash of a random secret: the lookup's timing
    /// tells nothing about any stored secret).
    pub(crate) fn authenticate(&self, token: &str) -> Option<Scopes> {
        let hash = sha256(token);
        let mut keys = self.keys();
        let number = *keys.by_hash.get(&hash)?;
        let key = keys.keys.get_mut(&number)?;
        if !key.live() {
            return None;
        }
        key.last_used_at = Some(now_utc());
        Some(key.scopes)
    }

    /// Whether `token` is the secret of a key that has expired.
    pub(crate) fn is_expired(&self, token: &str) -> bool {
        let keys = self.keys();
        keys.by_hash
            .get(&sha256(token))
            .and_then(|n| keys.keys.get(n))
            .is_some_and(|k| !k.live())
    }

    /// Creates a key with these scopes, expiring at `expires_at` (in the future); the returned
    /// body holds its secret, which is never shown again.
    pub(super) fn create(
        &self,
        name: &str,
        scopes: Scopes,
        expires_at: Option<SystemTime>,
    ) -> Result<Value, KeyError> {
        let deadline = expires_at.and_then(|at| {
            let left = at
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO);
            Instant::now().checked_add(left.min(crate::MAX_DURATION))
        });
        let (secret, prefix, hash) = new_secret();
        let mut keys = self.keys();
        if keys.keys.len() >= self.max_keys {
            return Err(KeyError::Full(self.max_keys));
        }
        keys.next_id += 1;
        let number = keys.next_id;
        let key = ApiKey {
            id: format!("key_{number:06}"),
            name: name.to_owned(),
            created_at: now_utc(),
            last_used_at: None,
            prefix,
            hash,
            scopes,
            expires_at,
            deadline,
        };
        let body = key.with_secret(&secret);
        keys.by_hash.insert(hash, number);
        keys.keys.insert(number, key);
        Ok(body)
    }

    pub(super) fn list(&self) -> Value {
        let keys = self.keys();
        json!({"data": keys.keys.values().map(ApiKey::summary).collect::<Vec<_>>()})
    }

    /// The number of key `id`, if the caller may change it (its scopes are all the caller's).
    fn changeable(keys: &Keys, id: &str, caller: Scopes) -> Result<u64, KeyError> {
        let number = keys.number(id).ok_or(KeyError::NotFound)?;
        let key = keys.keys.get(&number).ok_or(KeyError::NotFound)?;
        let missing = key.scopes.missing_from(caller);
        if missing.is_empty() {
            Ok(number)
        } else {
            Err(KeyError::Broader(missing))
        }
    }

    /// A new secret for key `id` (the old one dies at once); scopes and expiry are kept.
    pub(super) fn regenerate(&self, id: &str, caller: Scopes) -> Result<Value, KeyError> {
        let (secret, prefix, hash) = new_secret();
        let mut keys = self.keys();
        let number = Self::changeable(&keys, id, caller)?;
        let key = keys.keys.get_mut(&number).ok_or(KeyError::NotFound)?;
        let old = std::mem::replace(&mut key.hash, hash);
        key.prefix = prefix;
        key.last_used_at = None;
        let body = key.with_secret(&secret);
        keys.by_hash.remove(&old);
        keys.by_hash.insert(hash, number);
        Ok(body)
    }

    /// Deletes key `id`; its secret dies at once.
    pub(super) fn revoke(&self, id: &str, caller: Scopes) -> Result<(), KeyError> {
        let mut keys = self.keys();
        let number = Self::changeable(&keys, id, caller)?;
        let key = keys.keys.remove(&number).ok_or(KeyError::NotFound)?;
        keys.by_hash.remove(&key.hash);
        Ok(())
    }

    #[cfg(test)]
    fn hashes(&self) -> usize {
        self.keys().by_hash.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(store: &ApiKeyStore, name: &str) -> Value {
        store.create(name, Scopes::all(), None).unwrap()
    }

    #[test]
    fn only_live_keys_authenticate() {
        let store = ApiKeyStore::default();
        let created = create(&store, "ci");
        let secret = created["key"].as_str().unwrap().to_owned();
        let id = created["id"].as_str().unwrap().to_owned();
        assert!(secret.starts_with(KEY_PREFIX));
        assert_eq!(store.authenticate(&secret), Some(Scopes::all()));
        assert_eq!(store.authenticate("dbs_wrong"), None);

        let listed = store.list();
        assert!(listed["data"][0]["last_used_at"].is_string());
        assert!(!listed.to_string().contains(&secret));

        let all = Scopes::all();
        let renewed = store.regenerate(&id, all).unwrap();
        let new_secret = renewed["key"].as_str().unwrap();
        assert_eq!(store.authenticate(&secret), None);
        assert!(store.authenticate(new_secret).is_some());
        assert_eq!(store.hashes(), 1, "the old hash is forgotten");

        assert_eq!(store.revoke(&id, all), Ok(()));
        assert_eq!(store.authenticate(new_secret), None);
        assert_eq!(store.hashes(), 0);
        assert_eq!(store.revoke(&id, all), Err(KeyError::NotFound));
        assert_eq!(store.regenerate(&id, all), Err(KeyError::NotFound));
    }

    #[test]
    fn ids_must_match_exactly() {
        let store = ApiKeyStore::default();
        let id = create(&store, "x")["id"].as_str().unwrap().to_owned();
        assert_eq!(id, "key_000001");
        for other in ["key_1", "key_+00001", "key_0000001", "000001", "key_"] {
            assert_eq!(
                store.revoke(other, Scopes::all()),
                Err(KeyError::NotFound),
                "{other}"
            );
        }
        assert_eq!(store.revoke(&id, Scopes::all()), Ok(()));
    }

    #[test]
    fn only_hashes_are_stored() {
        let store = ApiKeyStore::default();
        let secret = create(&store, "x")["key"].as_str().unwrap().to_owned();
        assert!(!format!("{store:?}").contains(&secret));
    }

    #[test]
    fn the_cap_holds_and_revoking_frees_a_place() {
        let store = ApiKeyStore::new(2);
        create(&store, "a");
        let id = create(&store, "b")["id"].as_str().unwrap().to_owned();
        assert_eq!(
            store.create("c", Scopes::all(), None),
            Err(KeyError::Full(2))
        );
        assert_eq!(store.list()["data"].as_array().unwrap().len(), 2);
        store.revoke(&id, Scopes::all()).unwrap();
        assert!(store.create("c", Scopes::all(), None).is_ok());
    }

    #[test]
    fn a_broader_key_is_out_of_reach() {
        let store = ApiKeyStore::default();
        let id = create(&store, "admin")["id"].as_str().unwrap().to_owned();
        let caller = Scopes::none().with(Scope::KeysManage);
        let Err(KeyError::Broader(missing)) = store.regenerate(&id, caller) else {
            panic!("a broader key was regenerated");
        };
        assert!(missing.contains(&Scope::RecordsWrite));
        assert!(!missing.contains(&Scope::KeysManage));
        assert!(matches!(
            store.revoke(&id, caller),
            Err(KeyError::Broader(_))
        ));
        assert_eq!(store.list()["data"].as_array().unwrap().len(), 1);
    }
}
