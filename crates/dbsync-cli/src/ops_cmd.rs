//! Workflows, logs, usage and API keys (on dbsync-client's ops calls).

use dbsync_client::Connection;

use crate::args::{KeysCommand, LogsArgs, WorkflowCommand};
use crate::exit::CliError;
use crate::output::Format;

fn waiting() -> CliError {
    CliError::other(
        "this command needs dbsync-client's workflow/logs/usage/keys calls, which this build does not have yet",
    )
}

/// `dbsync workflow ...`
pub async fn workflow(
    _c: &Connection,
    _command: &WorkflowCommand,
    _format: Format,
) -> Result<(), CliError> {
    Err(waiting())
}

/// `dbsync logs ...`
pub async fn logs(
    _c: &Connection,
    _args: &LogsArgs,
    _format: Option<Format>,
) -> Result<(), CliError> {
    Err(waiting())
}

/// `dbsync usage`
pub async fn usage(_c: &Connection, _format: Format) -> Result<(), CliError> {
    Err(waiting())
}

/// `dbsync keys ...`
pub async fn keys(
    _c: &Connection,
    _command: &KeysCommand,
    _format: Format,
) -> Result<(), CliError> {
    Err(waiting())
}
