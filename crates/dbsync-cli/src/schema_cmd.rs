//! `dbsync schema`: a resource's schema as the server describes it, as a JSON Schema
//! (`--json-schema`), or as a serde struct to paste into a Rust program (`--rust`).

use std::io::Write as _;

use clap::Args;
use dbsync_client::Connection;
use serde_json::Value;

use crate::exit::CliError;

/// `dbsync schema`
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The resource.
    #[arg(short, long, default_value = "records")]
    pub resource: String,
    /// Print a serde struct for the records (optional fields as `Option`, `id` as
    /// `dbsync_client::Id`, read-only fields skipped on serialize).
    #[arg(long, conflicts_with = "json_schema")]
    pub rust: bool,
    /// The struct's name with --rust [default: the resource name in CamelCase].
    #[arg(long, value_name = "NAME", requires = "rust")]
    pub type_name: Option<String>,
    /// Print a JSON Schema (draft 2020-12) of a record as the server returns it.
    #[arg(long)]
    pub json_schema: bool,
}

/// Fetches the resource's schema and prints it in the form asked for (the DBSync schema JSON
/// by default).
pub async fn run(connection: &Connection, args: &SchemaArgs) -> Result<(), CliError> {
    let schema = connection
        .resource::<Value>(&args.resource)?
        .schema()
        .await?;
    let text = if args.rust {
        schema.to_rust_struct(args.type_name.as_deref().unwrap_or(&args.resource))
    } else {
        let json = match args.json_schema {
            true => schema.to_json_schema(),
            false => schema.to_json(),
        };
        let mut text = serde_json::to_string_pretty(&json)
            .map_err(|e| CliError::other(format!("cannot write the schema: {e}")))?;
        text.push('\n');
        text
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| CliError::io("cannot write to stdout", e))
}
