//! The in-memory record store: one sorted vector of entries per resource, behind a lock.
//!
//! Ids are numeric and only ever increase, so appending keeps each vector sorted by id; lookups
//! are binary searches and an unfiltered page is a slice (offset pagination over a million
//! records stays cheap). Seeded records are regenerated on read (see [`crate::seed`]).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::{Map, Value};

use dbsync_validate::{Schema, UniqueLookup, ValidateOptions, Violations};

use crate::seed::SeedGenerator;
use crate::time_fmt::{format_micros, write_micros};

/// Room for one rendered record: seeded records are about 450 to 620 bytes.
const RECORD_CAPACITY: usize = 640;

/// Fields every record has and no client may set.
pub(crate) const READ_ONLY_FIELDS: [&str; 3] = ["id", "created_at", "updated_at"];

pub(crate) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Debug)]
enum Body {
    /// Regenerated from the resource's seed generator on read.
    Seeded,
    /// The fields as compact JSON object text.
    Stored(Box<str>),
}

#[derive(Debug)]
struct Entry {
    id: u64,
    created_at: i64,
    updated_at: i64,
    body: Body,
}

/// What a list call asks for.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListQuery {
    pub limit: usize,
    pub offset: usize,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub filters: Vec<(String, String)>,
}

/// Why a write failed.
#[derive(Debug)]
pub(crate) enum WriteError {
    NotFound,
    Invalid(Violations),
}

/// One resource's records.
#[derive(Debug)]
pub(crate) struct Resource {
    entries: Vec<Entry>,
    next_id: u64,
    schema: Option<Arc<Schema>>,
    seed: Option<SeedGenerator>,
    /// field -> JSON text of value -> id, for unique fields of stored (non-seeded) records.
    unique: HashMap<String, HashMap<String, u64>>,
}

/// Uniqueness checks against the stored records of one resource.
struct Lookup<'a>(&'a Resource);

impl UniqueLookup for Lookup<'_> {
    fn existing_owner(&self, field: &str, value: &Value) -> Option<String> {
        self.0.owner(field, value).map(|id| id.to_string())
    }
}

impl Resource {
    pub fn new(schema: Option<Arc<Schema>>) -> Self {
        Self {
            entries: Vec::new(),
            next_id: 1,
            schema,
            seed: None,
            unique: HashMap::new(),
        }
    }

    /// Adds `count` seeded records (ids continue from the current next id).
    pub fn seed(&mut self, generator: SeedGenerator, count: u64) {
        self.seed = Some(generator);
        self.entries.reserve(count as usize);
        for _ in 0..count {
            let id = self.next_id;
            self.next_id += 1;
            let (created_at, updated_at) = generator.timestamps(id);
            self.entries.push(Entry {
                id,
                created_at,
                updated_at,
                body: Body::Seeded,
            });
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    fn position(&self, id: u64) -> Option<usize> {
        self.entries.binary_search_by_key(&id, |e| e.id).ok()
    }

    fn fields(&self, entry: &Entry) -> Map<String, Value> {
        match &entry.body {
            Body::Seeded => self.seed.map(|g| g.fields(entry.id)).unwrap_or_default(),
            Body::Stored(text) => serde_json::from_str(text).unwrap_or_default(),
        }
    }

    /// The record as compact JSON: `id`, `created_at`, `updated_at`, then its fields.
    fn render(&self, entry: &Entry) -> String {
        let mut out = String::with_capacity(RECORD_CAPACITY);
        self.write_record(entry, &mut out);
        out
    }

    /// Appends the record as compact JSON (see [`Resource::render`]).
    fn write_record(&self, entry: &Entry, out: &mut String) {
        // `fmt::Write` for `String` cannot fail.
        let _ = write!(out, "{{\"id\":{},\"created_at\":\"", entry.id);
        write_micros(entry.created_at, out);
        out.push_str("\",\"updated_at\":\"");
        write_micros(entry.updated_at, out);
        out.push('"');
        match (&entry.body, self.seed) {
            (Body::Seeded, Some(generator)) => {
                out.push(',');
                generator.write_members(entry.id, out);
            }
            (Body::Seeded, None) => {}
            (Body::Stored(text), _) => {
                // `text` is a JSON object: its members follow ours, unless there are none.
                let members = text.get(1..text.len().saturating_sub(1)).unwrap_or("");
                if !members.trim().is_empty() {
                    out.push(',');
                    out.push_str(members);
                }
            }
        }
        out.push('}');
    }

    fn owner(&self, field: &str, value: &Value) -> Option<u64> {
        if let Some(id) = self
            .unique
            .get(field)
            .and_then(|values| values.get(&value.to_string()))
        {
            return Some(*id);
        }
        let generator = self.seed?;
        let id = generator.candidate_owner(field, value)?;
        let entry = self.entries.get(self.position(id)?)?;
        let seeded_value_matches =
            matches!(entry.body, Body::Seeded) && generator.fields(id).get(field) == Some(value);
        seeded_value_matches.then_some(id)
    }

    fn index(&mut self, id: u64, fields: &Map<String, Value>, insert: bool) {
        let Some(schema) = &self.schema else { return };
        for field in schema.fields().iter().filter(|f| f.is_unique()) {
            let Some(value) = fields.get(field.name()).filter(|v| !v.is_null()) else {
                continue;
            };
            let values = self.unique.entry(field.name().to_string()).or_default();
            if insert {
                values.insert(value.to_string(), id);
            } else if values.get(&value.to_string()) == Some(&id) {
                values.remove(&value.to_string());
            }
        }
    }

    /// Every violation of a create (`own_id: None`, full record) or of an update's patch
    /// (`own_id: Some`, partial), uniqueness checked against the stored records.
    pub fn check(&self, fields: &Map<String, Value>, own_id: Option<u64>) -> Violations {
        let Some(schema) = &self.schema else {
            return Violations::new();
        };
        let lookup = Lookup(self);
        let own = own_id.map(|id| id.to_string());
        let options = match &own {
            Some(id) => ValidateOptions::partial().lookup(&lookup).own_id(id),
            None => ValidateOptions::new().lookup(&lookup),
        };
        match schema.validate_object_with(fields, &options) {
            Ok(()) => Violations::new(),
            Err(violations) => violations,
        }
    }

    /// The rendered record with this id.
    pub fn get(&self, id: u64) -> Option<String> {
        let entry = self.entries.get(self.position(id)?)?;
        Some(self.render(entry))
    }

    /// Validates and stores a new record; returns it rendered.
    pub fn create(&mut self, fields: Map<String, Value>, now: i64) -> Result<String, WriteError> {
        let violations = self.check(&fields, None);
        if !violations.is_empty() {
            return Err(WriteError::Invalid(violations));
        }
        let id = self.next_id;
        self.next_id += 1;
        self.index(id, &fields, true);
        let entry = Entry {
            id,
            created_at: now,
            updated_at: now,
            body: Body::Stored(Value::Object(fields).to_string().into_boxed_str()),
        };
        let rendered = self.render(&entry);
        self.entries.push(entry);
        Ok(rendered)
    }

    /// Applies a partial update (absent fields unchanged); returns the full record rendered.
    ///
    /// `patch` must not contain read-only fields (the caller checks they are unchanged and
    /// removes them).
    pub fn update(
        &mut self,
        id: u64,
        patch: Map<String, Value>,
        now: i64,
    ) -> Result<String, WriteError> {
        let position = self.position(id).ok_or(WriteError::NotFound)?;
        let violations = self.check(&patch, Some(id));
        if !violations.is_empty() {
            return Err(WriteError::Invalid(violations));
        }
        let entry = self.entries.get(position).ok_or(WriteError::NotFound)?;
        let old = self.fields(entry);
        let mut merged = old.clone();
        merged.extend(patch);
        self.index(id, &old, false);
        self.index(id, &merged, true);
        let body = Body::Stored(Value::Object(merged).to_string().into_boxed_str());
        let entry = self.entries.get_mut(position).ok_or(WriteError::NotFound)?;
        entry.body = body;
        entry.updated_at = now.max(entry.created_at);
        let entry = self.entries.get(position).ok_or(WriteError::NotFound)?;
        Ok(self.render(entry))
    }

    /// Removes a record; `false` when there was none.
    pub fn delete(&mut self, id: u64) -> bool {
        let Some(position) = self.position(id) else {
            return false;
        };
        let entry = self.entries.remove(position);
        if matches!(entry.body, Body::Stored(_)) {
            let fields = self.fields(&entry);
            self.index(id, &fields, false);
        }
        true
    }

    /// `created_at`/`updated_at` (unix micros) of a record, for read-only checks.
    pub fn timestamps(&self, id: u64) -> Option<(i64, i64)> {
        let entry = self.entries.get(self.position(id)?)?;
        Some((entry.created_at, entry.updated_at))
    }

    fn matches(&self, entry: &Entry, query: &ListQuery) -> bool {
        if query.from.is_some_and(|from| entry.updated_at < from)
            || query.to.is_some_and(|to| entry.updated_at >= to)
        {
            return false;
        }
        if query.filters.is_empty() {
            return true;
        }
        let fields = self.fields(entry);
        query
            .filters
            .iter()
            .all(|(name, wanted)| match name.as_str() {
                "id" => entry.id.to_string() == *wanted,
                "created_at" => format_micros(entry.created_at) == *wanted,
                "updated_at" => format_micros(entry.updated_at) == *wanted,
                _ => match fields.get(name) {
                    Some(Value::String(s)) => s == wanted,
                    Some(other) => serde_json::to_string(other).is_ok_and(|text| text == *wanted),
                    None => false,
                },
            })
    }

    /// Appends one page of records to `out` as the members of a JSON array (`{...},{...}`):
    /// at most `query.limit` records, and no more once the page's records pass `max_bytes`
    /// (a page always holds its first record, so a scan moves on however large records are).
    ///
    /// Records are written straight into `out`: a page of a thousand seeded records costs no
    /// allocation per record, which is what bounds a scan's speed against the sandbox.
    pub fn list_into(&self, query: &ListQuery, out: &mut String, max_bytes: usize) -> Page {
        let start = out.len();
        let mut page = Page::default();
        // Writes one record; `false` (and nothing written) when it would pass the byte cap.
        let push = |entry: &Entry, out: &mut String, page: &mut Page| {
            let before = out.len();
            if page.written > 0 {
                out.push(',');
            }
            self.write_record(entry, out);
            if page.written > 0 && out.len() - start > max_bytes {
                out.truncate(before);
                page.cut = true;
                return false;
            }
            page.written += 1;
            true
        };
        let unfiltered = query.from.is_none() && query.to.is_none() && query.filters.is_empty();
        if unfiltered {
            let entries = self.entries.get(query.offset..).unwrap_or_default();
            let wanted = entries.len().min(query.limit);
            out.reserve((wanted * RECORD_CAPACITY).min(max_bytes));
            for entry in entries.iter().take(query.limit) {
                if !push(entry, out, &mut page) {
                    break;
                }
            }
            page.total = self.entries.len();
            return page;
        }
        for entry in &self.entries {
            if self.matches(entry, query) {
                if page.total >= query.offset && page.written < query.limit && !page.cut {
                    push(entry, out, &mut page);
                }
                page.total += 1;
            }
        }
        page
    }
}

/// What [`Resource::list_into`] wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    /// The size of the whole filtered set.
    pub total: usize,
    /// How many records the page holds.
    pub written: usize,
    /// The page stopped at the byte cap, before `limit` records.
    pub cut: bool,
}

/// Every resource, created on first write.
#[derive(Debug, Default)]
pub(crate) struct Store {
    resources: RwLock<HashMap<String, Arc<RwLock<Resource>>>>,
    schemas: HashMap<String, Arc<Schema>>,
}

impl Store {
    pub fn new(schemas: HashMap<String, Arc<Schema>>) -> Self {
        Self {
            resources: RwLock::default(),
            schemas,
        }
    }

    /// The resource, if it has been written to (or seeded).
    pub fn existing(&self, name: &str) -> Option<Arc<RwLock<Resource>>> {
        read(&self.resources).get(name).cloned()
    }

    /// The resource, created empty when it does not exist yet.
    pub fn resource(&self, name: &str) -> Arc<RwLock<Resource>> {
        if let Some(resource) = self.existing(name) {
            return resource;
        }
        let schema = self.schemas.get(name).cloned();
        write(&self.resources)
            .entry(name.to_string())
            .or_insert_with(|| Arc::new(RwLock::new(Resource::new(schema))))
            .clone()
    }

    /// The schema configured for a resource, if any.
    pub fn schema(&self, name: &str) -> Option<Arc<Schema>> {
        self.schemas.get(name).cloned()
    }
}
