//! Quickstart: the DBSync client in one walk.
//!
//! ```sh
//! cargo run --example quickstart
//! ```
//!
//! With no `DBSYNC_API_URL` set, this starts the sandbox in-process (bearer auth with a generated
//! token, 120 seeded records; no account, no network) and walks through: validate the
//! connection, create, get, update, stream every record over several pages, a batch with one
//! invalid record, delete.
//!
//! With `DBSYNC_API_URL` (and the auth variables: `DBSYNC_TOKEN`, or `DBSYNC_USERNAME` and
//! `DBSYNC_PASSWORD`, or `DBSYNC_CLIENT_ID` and `DBSYNC_CLIENT_SECRET`...) it runs against that
//! server. That may be someone's production data, so it only reads (validate the connection,
//! the first page of `DBSYNC_RESOURCE`, default `records`) unless run with `-- --write`; then it
//! writes too, and deletes what it created. Such a server's resource has its own fields, so the
//! records it writes there are made from the resource's schema (`GET /v1/{resource}/schema`) by
//! dbsync-validate's sample generator (`Samples`, feature `samples`), not the sandbox's
//! `records` fields.
//!
//! `main` is a thin wrapper over [`run`], which the end-to-end tests (`tests/examples_e2e.rs`)
//! call against the sandbox in every auth mode.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use dbsync::client::{Connection, EnvLookup, Error, Id, Query, Record, Resource, process_env};
use dbsync::sandbox::{Sandbox, SandboxAuth};
use dbsync_validate::{SampleError, Samples};
use futures::{StreamExt as _, TryStreamExt as _};
use serde::Deserialize as _;
use serde_json::{Value, json};

/// What the walk does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The resource to use (`DBSYNC_RESOURCE`, default `records`).
    pub resource: String,
    /// Whether to write (create, update, batch, delete) or only read.
    pub write: bool,
    /// The page size of the listing steps.
    pub page_size: u32,
    /// The most pages the streaming step reads (a real server may hold millions of records).
    pub max_pages: u32,
    /// Whether the records written are made from the resource's schema (a server that is not
    /// the embedded sandbox) instead of the sandbox's `records` fields.
    pub records_from_schema: bool,
}

impl Options {
    /// The full walk on `records`, as against the embedded sandbox.
    pub fn full_walk() -> Self {
        Self {
            resource: "records".to_owned(),
            write: true,
            page_size: 50,
            max_pages: 3,
            records_from_schema: false,
        }
    }

    /// Options from `DBSYNC_RESOURCE` and the command line (`--write` is the only argument).
    pub fn from_env_and_args(
        env: EnvLookup<'_>,
        args: impl IntoIterator<Item = String>,
    ) -> Result<Self, String> {
        let mut options = Self {
            write: false,
            records_from_schema: true,
            ..Self::full_walk()
        };
        if let Some(resource) = env("DBSYNC_RESOURCE").filter(|r| !r.trim().is_empty()) {
            options.resource = resource.trim().to_owned();
        }
        for arg in args {
            match arg.as_str() {
                "--write" => options.write = true,
                other => {
                    return Err(format!(
                        "unknown argument `{other}`: the only option is --write (cargo run \
                         --example quickstart -- --write)"
                    ));
                }
            }
        }
        Ok(options)
    }
}

/// What the walk did (the end-to-end tests check it).
#[derive(Debug, Default)]
pub struct Summary {
    /// Records on the first page read in read-only mode.
    pub first_page: usize,
    /// The id of the record created (and later deleted) by the walk.
    pub created_id: Option<Id>,
    /// The ids the streaming step saw, in order.
    pub streamed_ids: Vec<Id>,
    /// Per batch input index: the new id, or the fields the server rejected.
    pub batch: Vec<(usize, Result<Id, Vec<String>>)>,
    /// Every id the walk deleted again.
    pub deleted: Vec<Id>,
}

/// Runs the walk against `connection`. In read-only mode it sends only `GET`s.
pub async fn run(connection: &Connection, options: &Options) -> Result<Summary, Error> {
    let mut summary = Summary::default();
    let records = connection.resource::<Record>(&options.resource)?;

    step("Validate the connection (one cheap authenticated call)");
    let report = connection.validate().await?;
    println!(
        "   {} -> HTTP {} in {} ms, auth `{}`{}",
        report.checked,
        report.status,
        report.latency.as_millis(),
        report.auth_scheme,
        if report.authenticated {
            ", credentials accepted"
        } else {
            ""
        }
    );

    if !options.write {
        step(&format!("Read the first page of `{}`", options.resource));
        let page = records.list(&Query::new().limit(options.page_size)).await?;
        let total = page
            .meta
            .and_then(|meta| meta.total)
            .map_or_else(|| "unknown".to_owned(), |t| t.to_string());
        println!(
            "   {} records on the first page ({total} in all); the first ids: {}",
            page.data.len(),
            page.data
                .iter()
                .take(5)
                .map(|record| id_of(record).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!(
            "   Read-only: this may be someone's production data. Run with `-- --write` to also \
             create, update, batch and delete (what it creates is deleted again)."
        );
        summary.first_page = page.data.len();
        return Ok(summary);
    }

    // Every id created is deleted at the end, also when a step in between fails.
    let mut created = Vec::new();
    let walked = write_walk(&records, options, &mut summary, &mut created).await;
    let cleaned = clean_up(&records, &created, &mut summary).await;
    walked?;
    cleaned?;
    println!(
        "\nDone: created {} records and deleted them again.",
        summary.deleted.len()
    );
    Ok(summary)
}

/// Makes the records the walk writes: the sandbox's `records` fields, or samples of the
/// resource's schema.
enum Maker<'s> {
    /// People for the sandbox's `records` schema; the stamp keeps `email` unique across runs.
    Person(String),
    /// Valid (and invalid) records drawn from the server's schema.
    Samples(Box<Samples<'s>>),
}

impl Maker<'_> {
    fn valid(&mut self, n: u32, first: &str, last: &str) -> Result<Value, Error> {
        match self {
            Maker::Person(stamp) => Ok(person(stamp, n, first, last)),
            Maker::Samples(samples) => samples.valid().map_err(sample_error),
        }
    }

    /// A record the server must refuse.
    fn invalid(&mut self) -> Result<Value, Error> {
        match self {
            Maker::Person(stamp) => {
                let mut invalid = person(stamp, 2, "Bad", "Record");
                invalid["email"] = json!("not-an-email");
                invalid["country"] = json!("Atlantis");
                if let Some(fields) = invalid.as_object_mut() {
                    fields.remove("last_name");
                }
                Ok(invalid)
            }
            Maker::Samples(samples) => match samples.invalid() {
                Ok(sample) => Ok(sample.record),
                // A schema that takes any object: only a non-object is refused.
                Err(SampleError::NothingToBreak) => Ok(json!("not a record")),
                Err(error) => Err(sample_error(error)),
            },
        }
    }

    /// A partial update: new values for a few fields.
    fn change(&mut self) -> Result<Value, Error> {
        match self {
            Maker::Person(_) => Ok(json!({"status": "customer", "score": 99.5})),
            Maker::Samples(samples) => {
                let fresh = samples.valid().map_err(sample_error)?;
                let fields = fresh.as_object().cloned().unwrap_or_default();
                Ok(Value::Object(fields.into_iter().take(2).collect()))
            }
        }
    }
}

fn sample_error(error: SampleError) -> Error {
    Error::Config(format!(
        "cannot make a valid record of the resource's schema: {error}"
    ))
}

/// At most 200 characters of a record, for the walk's output.
fn short(record: &Value) -> String {
    let text = record.to_string();
    match text.char_indices().nth(200) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text,
    }
}

async fn write_walk(
    records: &Resource<Record>,
    options: &Options,
    summary: &mut Summary,
    created: &mut Vec<Id>,
) -> Result<(), Error> {
    let stamp = unique_stamp();
    let schema = match options.records_from_schema {
        true => {
            step(&format!(
                "Read the schema of `{}` (the records written are made from it)",
                options.resource
            ));
            let schema = records.schema().await?;
            println!("   {} fields", schema.fields().len());
            Some(schema)
        }
        false => None,
    };
    let mut maker = match &schema {
        // Seeded from the clock, so unique values differ from one run to the next.
        Some(schema) => Maker::Samples(Box::new(Samples::new(schema, stamp_seed(&stamp)))),
        None => Maker::Person(stamp.clone()),
    };

    step("Create a record (POST, with an Idempotency-Key so a retry never creates twice)");
    let record = records.create(&maker.valid(0, "Ada", "Lovelace")?).await?;
    let id = id_of(&record);
    created.push(id.clone());
    summary.created_id = Some(id.clone());
    println!(
        "   created id {id} at {}",
        record["created_at"].as_str().unwrap_or("?")
    );

    step(&format!("Get record {id}"));
    let fetched = records.get(&id).await?;
    match &maker {
        Maker::Person(_) => println!(
            "   {} {} <{}>, status {}",
            text(&fetched, "first_name"),
            text(&fetched, "last_name"),
            text(&fetched, "email"),
            text(&fetched, "status")
        ),
        Maker::Samples(_) => println!("   {}", short(&fetched)),
    }

    step(&format!(
        "Update record {id} (a partial PUT: only the fields sent change)"
    ));
    let change = maker.change()?;
    let updated = records.update(&id, &change).await?;
    match &maker {
        Maker::Person(_) => println!(
            "   status {} and score {}; email unchanged: {}",
            text(&updated, "status"),
            updated["score"],
            text(&updated, "email")
        ),
        Maker::Samples(_) => println!("   sent {}; now {}", short(&change), short(&updated)),
    }
    let limit = options.page_size;
    let most = limit as usize * options.max_pages as usize;
    step(&format!(
        "Stream records page by page ({limit} per page, at most {} pages)",
        options.max_pages
    ));
    let streamed: Vec<Record> = records
        .stream(Query::new().limit(limit))
        .take(most)
        .try_collect()
        .await?;
    summary.streamed_ids = streamed.iter().map(id_of).collect();
    let pages = streamed.len().div_ceil(limit as usize);
    println!(
        "   {} records over {pages} pages (ids {} .. {}); the new record is among them: {}",
        streamed.len(),
        summary.streamed_ids.first().map_or("-", Id::as_str),
        summary.streamed_ids.last().map_or("-", Id::as_str),
        summary.streamed_ids.contains(&id)
    );

    step("Create a batch of 3 records, the middle one invalid");
    let batch = [
        maker.valid(1, "Grace", "Hopper")?,
        maker.invalid()?,
        maker.valid(3, "Alan", "Turing")?,
    ];
    for outcome in records.create_many(&batch).await {
        match outcome.result {
            Ok(saved) => {
                let new_id = id_of(&saved);
                println!("   #{}: created id {new_id}", outcome.index);
                created.push(new_id.clone());
                summary.batch.push((outcome.index, Ok(new_id)));
            }
            Err(error) => {
                println!(
                    "   #{}: rejected (HTTP {}), nothing saved:",
                    outcome.index,
                    error.status().map_or("-".to_owned(), |s| s.to_string())
                );
                for detail in error.details() {
                    println!("      - {}: {}", detail.field, detail.message);
                }
                if error.details().is_empty() {
                    println!("      - {error}");
                }
                let fields = error.details().iter().map(|d| d.field.clone()).collect();
                summary.batch.push((outcome.index, Err(fields)));
            }
        }
    }
    Ok(())
}

/// Deletes what the walk created, then shows that a deleted record is gone.
async fn clean_up(
    records: &Resource<Record>,
    created: &[Id],
    summary: &mut Summary,
) -> Result<(), Error> {
    if created.is_empty() {
        return Ok(());
    }
    step(&format!(
        "Delete the {} records this walk created",
        created.len()
    ));
    let mut first_error = None;
    for id in created {
        match records.delete(id).await {
            Ok(()) => {
                println!("   deleted {id}");
                summary.deleted.push(id.clone());
            }
            Err(error) => {
                println!("   could not delete {id}: {error}");
                first_error.get_or_insert(error);
            }
        }
    }
    if let Some(error) = first_error {
        return Err(error);
    }
    if let Some(id) = created.first() {
        match records.get(id).await {
            Err(Error::NotFound { .. }) => println!("   get {id} now answers 404 Not Found"),
            Ok(_) => println!("   warning: {id} can still be read after its delete"),
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// A valid record of the sandbox's `records` schema (which requires email, first_name,
/// last_name, country and active).
fn person(stamp: &str, n: u32, first: &str, last: &str) -> Value {
    json!({
        "email": format!("{}.{}.{stamp}.{n}@example.com", first.to_lowercase(), last.to_lowercase()),
        "first_name": first,
        "last_name": last,
        "country": "GB",
        "active": true,
        "status": "lead",
        "score": 42.0,
    })
}

/// Something different on every run, so that the unique `email` never collides on a server
/// that keeps its data.
fn unique_stamp() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:x}")
}

/// A seed from the stamp (the clock), for the sample generator.
fn stamp_seed(stamp: &str) -> u64 {
    u64::from_str_radix(
        stamp.get(stamp.len().saturating_sub(16)..).unwrap_or("0"),
        16,
    )
    .unwrap_or(0)
}

/// A record's [`Id`] (ids are strings or integers on the wire; `Id` reads both).
fn id_of(record: &Value) -> Id {
    Id::deserialize(&record["id"]).unwrap_or_else(|_| Id::new("?"))
}

fn text<'a>(record: &'a Value, field: &str) -> &'a str {
    record[field].as_str().unwrap_or("?")
}

fn step(what: &str) {
    println!("\n== {what}");
}

/// Starts the embedded sandbox: bearer auth with a generated token, 120 seeded records.
async fn start_sandbox() -> Result<(Sandbox, Connection), String> {
    let token = format!("qs-{:032x}", rand::random::<u128>());
    let sandbox = Sandbox::builder()
        .auth(SandboxAuth::Bearer {
            token: token.clone(),
        })
        .seed_records(120)
        .start()
        .await
        .map_err(|e| format!("could not start the embedded sandbox: {e}"))?;
    let connection = Connection::builder()
        .base_url(sandbox.base_url())
        .auth(dbsync::auth::BearerAuth::new(token))
        .build()
        .map_err(|e| e.to_string())?;
    Ok((sandbox, connection))
}

async fn main_inner() -> Result<(), String> {
    let options = Options::from_env_and_args(&process_env, std::env::args().skip(1))?;
    let configured = |name: &str| process_env(name).is_some_and(|v| !v.trim().is_empty());
    if configured("DBSYNC_API_URL") || configured("DBSYNC_CONFIG") {
        let connection = Connection::from_env().map_err(|e| e.to_string())?;
        println!(
            "Using {} (auth `{}`) from the DBSYNC_* variables; {}.",
            connection.base_url(),
            connection.auth_scheme(),
            if options.write {
                "--write: records are created and deleted again"
            } else {
                "read-only"
            }
        );
        run(&connection, &options)
            .await
            .map_err(|e| e.to_string())?;
    } else {
        let (sandbox, connection) = start_sandbox().await?;
        println!(
            "No DBSYNC_API_URL set: started the embedded sandbox at {} (bearer auth with a \
             generated token, 120 seeded records). Set DBSYNC_API_URL to use a real server.",
            sandbox.base_url()
        );
        let options = Options {
            write: true,
            records_from_schema: false,
            ..options
        };
        let outcome = run(&connection, &options).await;
        sandbox.shutdown().await;
        outcome.map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match main_inner().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // One line, whatever the error says.
            eprintln!("quickstart failed: {}", message.replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
