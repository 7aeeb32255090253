//! The record commands: list, get, create, update, delete.

use std::io::{IsTerminal as _, Write};
use std::path::Path;

use dbsync_client::{Connection, Query, Resource, ScanOptions, Schema};
use futures::StreamExt as _;
use serde_json::{Value, json};

use crate::args::{ListArgs, ResendArgs, UpdateArgs, WriteArgs};
use crate::bulk::{self, BulkMode, Source};
use crate::exit::{CliError, Exit, class_of, report_write};
use crate::output::{Format, RecordWriter, write_one};
use crate::progress;
use crate::terminal_text;

fn resource(connection: &Connection, name: &str) -> Result<Resource<Value>, CliError> {
    Ok(connection.resource::<Value>(name)?)
}

fn stdout_error(e: std::io::Error) -> CliError {
    CliError::io("cannot write to stdout", e)
}

/// `dbsync list`
pub async fn list(
    connection: &Connection,
    args: &ListArgs,
    format: Format,
) -> Result<(), CliError> {
    let resource = resource(connection, &args.resource)?;
    let mut query = Query::new();
    let one_page = match (args.all, args.limit) {
        (true, Some(_)) => return Err(CliError::usage(ALL_WITH_LIMIT)),
        (true, None) => false,
        (false, None) => true,
        (false, Some(limit)) => limit <= u64::from(args.page_size.unwrap_or(MAX_PAGE_SIZE)),
    };
    let page_size = match (one_page, args.limit) {
        // The whole --limit in one page of that size.
        (true, Some(limit)) => u32::try_from(limit).ok(),
        (false, Some(_)) => Some(args.page_size.unwrap_or(MAX_PAGE_SIZE)),
        (_, None) => args.page_size,
    };
    if let Some(size) = page_size {
        query = query.limit(size);
    }
    if let Some(offset) = args.offset {
        query = query.offset(offset);
    }
    if let Some(from) = &args.from {
        query = query.from(from.as_str());
    }
    if let Some(to) = &args.to {
        query = query.to(to.as_str());
    }
    for filter in &args.filters {
        let Some((field, value)) = filter.split_once('=') else {
            return Err(CliError::usage(format!(
                "--where `{filter}` is not FIELD=VALUE"
            )));
        };
        query = query.filter(field.trim(), value);
    }
    let stdout = std::io::stdout();
    let mut writer = RecordWriter::new(stdout.lock(), format);
    if one_page {
        let page = resource.list(&query).await?;
        for record in &page.data {
            writer.write(record).map_err(stdout_error)?;
        }
        writer.finish().map_err(stdout_error)?;
        return Ok(());
    }
    // A partition is a part of the list's total: no total for its bar.
    let total = if args.partition.is_none() && std::io::stderr().is_terminal() {
        resource
            .list(&query.clone().limit(1))
            .await
            .ok()
            .and_then(|page| page.meta.and_then(|m| m.total))
            .map(|total| total.saturating_sub(args.offset.unwrap_or(0)))
            .map(|total| args.limit.map_or(total, |limit| total.min(limit)))
    } else {
        None
    };
    let bar = progress::bar(total, "listing");
    let mut options = ScanOptions::default();
    if let Some(pages) = args.max_pages {
        options = options.max_pages(pages);
    }
    if let Some(records) = args.max_records {
        options = options.max_records(records);
    }
    let most = args
        .limit
        .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let stream = match &args.partition {
        Some(spec) => {
            crate::connectors_cmd::partition_scan(&resource, query, spec, options).await?
        }
        None => resource.scan_with(query, options),
    };
    let mut stream = stream.take(most);
    let mut outcome = Ok(());
    while let Some(record) = stream.next().await {
        match record {
            Ok(record) => {
                writer.write(&record).map_err(stdout_error)?;
                bar.inc(1);
            }
            Err(error) => {
                outcome = Err(with_flag_names(error.into()));
                break;
            }
        }
    }
    bar.finish_and_clear();
    writer.finish().map_err(stdout_error)?;
    outcome
}

/// The largest page the API serves.
const MAX_PAGE_SIZE: u32 = 1000;

/// `list --all --limit N`: --limit was the page size there; now it is the total
/// everywhere, which --all contradicts. An error rather than a silent change of meaning.
const ALL_WITH_LIMIT: &str = "--limit N is the most records in all and --all asks for every \
    record: drop one of them (for the page size, which `--all --limit N` set before, use \
    --page-size N)";

/// A scan cap's error in the CLI's words: it names the flag, and a cap the user set and the
/// scan reached is no usage error.
fn with_flag_names(mut error: CliError) -> CliError {
    for (option, flag) in [
        ("ScanOptions::max_pages", "--max-pages"),
        ("ScanOptions::max_records", "--max-records"),
    ] {
        if error.message.contains(option) {
            error.message = error.message.replace(option, flag);
            error.exit = Exit::Other;
        }
    }
    error
}

/// `dbsync get`
pub async fn get(
    connection: &Connection,
    resource_name: &str,
    id: &str,
    format: Format,
) -> Result<(), CliError> {
    let record = resource(connection, resource_name)?.get(id).await?;
    write_one(std::io::stdout().lock(), format, &record).map_err(stdout_error)
}

fn parse_data(data: &str) -> Result<Value, CliError> {
    let value: Value = serde_json::from_str(data)
        .map_err(|e| CliError::usage(format!("--data is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(CliError::usage(
            "--data must be a JSON object of field/value pairs",
        ));
    }
    Ok(value)
}

async fn schema_if(resource: &Resource<Value>, validate: bool) -> Result<Option<Schema>, CliError> {
    if validate {
        Ok(Some(resource.schema().await?))
    } else {
        Ok(None)
    }
}

fn check_locally(schema: Option<&Schema>, record: &Value, partial: bool) -> Result<(), CliError> {
    if let Some(schema) = schema {
        let result = if partial {
            schema.validate_partial(record)
        } else {
            schema.validate(record)
        };
        if let Err(violations) = result {
            let object = violations.to_error_object();
            return Err(CliError {
                exit: Exit::Validation,
                message: format!(
                    "validation failed locally, {} violation(s) (nothing was sent):",
                    object.details.len()
                ),
                details: object.details,
            });
        }
    }
    Ok(())
}

/// `dbsync create`
pub async fn create(
    connection: &Connection,
    args: &WriteArgs,
    format: Format,
) -> Result<(), CliError> {
    let resource = resource(connection, &args.resource)?;
    match (&args.data, &args.file) {
        (Some(data), None) => {
            let record = parse_data(data)?;
            let schema = schema_if(&resource, args.validate || args.dry_run).await?;
            check_locally(schema.as_ref(), &record, false)?;
            if args.dry_run {
                crate::dry_run::note_one(BulkMode::Create);
                return write_one(std::io::stdout().lock(), format, &record).map_err(stdout_error);
            }
            let created = resource.create(&record).await?;
            write_one(std::io::stdout().lock(), format, &created).map_err(stdout_error)
        }
        (None, Some(file)) => bulk_from_file(&resource, args, file, BulkMode::Create, format).await,
        _ => Err(CliError::usage("give --data JSON or --file FILE")),
    }
}

/// `dbsync update`
pub async fn update(
    connection: &Connection,
    args: &UpdateArgs,
    format: Format,
) -> Result<(), CliError> {
    let write = &args.write;
    let resource = resource(connection, &write.resource)?;
    match (&args.id, &write.data, &write.file) {
        (Some(id), Some(data), None) => {
            let patch = parse_data(data)?;
            let schema = schema_if(&resource, write.validate || write.dry_run).await?;
            check_locally(schema.as_ref(), &bulk::without_id(&patch), true)?;
            if write.dry_run {
                let mut sent = patch.clone();
                if let Some(object) = sent.as_object_mut() {
                    object.insert("id".into(), Value::String(id.clone()));
                }
                crate::dry_run::note_one(BulkMode::Update);
                return write_one(std::io::stdout().lock(), format, &sent).map_err(stdout_error);
            }
            let updated = resource.update(id, &patch).await?;
            write_one(std::io::stdout().lock(), format, &updated).map_err(stdout_error)
        }
        (None, None, Some(file)) => {
            bulk_from_file(&resource, write, file, BulkMode::Update, format).await
        }
        (None, Some(_), None) => Err(CliError::usage(
            "give the record id: dbsync update ID --data JSON",
        )),
        (Some(_), None, Some(_)) => Err(CliError::usage(
            "with --file each record carries its own \"id\": drop the ID argument",
        )),
        _ => Err(CliError::usage("give ID --data JSON, or --file FILE")),
    }
}

async fn bulk_from_file(
    resource: &Resource<Value>,
    args: &WriteArgs,
    file: &Path,
    mode: BulkMode,
    format: Format,
) -> Result<(), CliError> {
    if args
        .failed
        .as_deref()
        .is_some_and(|failed| same_file(failed, file))
    {
        return Err(CliError::usage(
            "--failed must not be the input --file (nor stdin's file; it would be emptied before \
             it is read): give a new file",
        ));
    }
    let csv = crate::csv_input::is_csv(file, args.input_format);
    // CSV needs the schema to convert its cells; a dry run checks by it.
    let fetched = schema_if(resource, args.validate || args.dry_run || csv).await?;
    let (input, counted) = match &fetched {
        Some(schema) if csv => {
            let (input, count) = crate::csv_input::open(file, schema)?;
            (input, Some(count))
        }
        _ => (crate::input::open(file)?, None),
    };
    let schema = fetched.filter(|_| args.validate || args.dry_run);
    if args.dry_run {
        return crate::dry_run::run(input, mode, schema.as_ref(), format);
    }
    let total = if std::io::stderr().is_terminal() {
        counted.or_else(|| bulk::count_records(file))
    } else {
        None
    };
    let options = bulk::Options {
        mode,
        source: Source::Records,
        schema,
        failed: args.failed.as_deref(),
        format,
        total,
        concurrency: args.concurrency,
    };
    bulk::run(resource, input, options).await
}

/// `dbsync resend`: the failures file of a create, sent again (see [`bulk`]).
pub async fn resend(
    connection: &Connection,
    args: &ResendArgs,
    format: Format,
) -> Result<(), CliError> {
    if let Some(failed) = &args.failed
        && same_file(failed, &args.input)
    {
        return Err(CliError::usage(
            "--failed must not be FAILED itself (it would be emptied before it is read): give \
             a new file",
        ));
    }
    let resource = resource(connection, &args.resource)?;
    let schema = schema_if(&resource, args.validate).await?;
    let input = crate::input::open_lines(&args.input)?;
    let total = if std::io::stderr().is_terminal() {
        bulk::count_records(&args.input)
    } else {
        None
    };
    let options = bulk::Options {
        mode: BulkMode::Create,
        source: Source::Failures,
        schema,
        failed: args.failed.as_deref(),
        format,
        total,
        concurrency: args.concurrency,
    };
    bulk::run(&resource, input, options).await
}

/// Whether the `--failed` path `failed` names the file read as `input` (`-`: whatever stdin
/// is), by device and inode: a hard link, another path, or stdin redirected from it. A
/// `failed` that does not exist yet is not the input.
fn same_file(failed: &Path, input: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let input = if input.as_os_str() == "-" {
        // Follows to what stdin is (a file it was redirected from, or a pipe).
        std::fs::metadata("/dev/stdin")
    } else {
        std::fs::metadata(input)
    };
    match (std::fs::metadata(failed), input) {
        (Ok(failed), Ok(input)) => failed.dev() == input.dev() && failed.ino() == input.ino(),
        _ => false,
    }
}

/// `dbsync delete`
pub async fn delete(
    connection: &Connection,
    resource_name: &str,
    ids: &[String],
    format: Format,
) -> Result<(), CliError> {
    let resource = resource(connection, resource_name)?;
    let stdout = std::io::stdout();
    let mut writer = RecordWriter::new(stdout.lock(), format);
    let mut first_failure: Option<Exit> = None;
    let mut failed = 0usize;
    let mut results = futures::stream::iter(ids.iter().cloned())
        .map(|id| {
            let resource = resource.clone();
            async move {
                let result = resource.delete(&id).await;
                (id, result)
            }
        })
        .buffered(8);
    while let Some((id, result)) = results.next().await {
        match result {
            Ok(()) => report_write(writer.write(&json!({"id": id, "deleted": true})))?,
            Err(error) => {
                failed += 1;
                first_failure.get_or_insert(class_of(&error));
                eprintln!(
                    "dbsync: {}: {}",
                    terminal_text::escape_controls(&id),
                    terminal_text::server_message(&error.to_string())
                );
            }
        }
    }
    report_write(writer.finish())?;
    let _ = std::io::stderr().flush();
    match first_failure {
        None => Ok(()),
        Some(exit) => Err(CliError::new(
            exit,
            format!("{failed} of {} deletes failed", ids.len()),
        )),
    }
}
