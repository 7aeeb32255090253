//! A failure as one JSON object on stderr, for `--format json`:
//! `{"error":{"code":"not_found","message":"...","exit_code":4,"details":[{"field","message"}]}}`.
//!
//! `code` names the exit class ([`code_name`]); `message` is the line the text form prints
//! after `dbsync: ` (cut, control characters kept as JSON escapes); `details` the validation
//! details (at most [`MAX_DETAILS`], then `"details_cut": N`). No request id: the API sends none
//! the client keeps.

use serde_json::{Value, json};

use crate::exit::{CliError, Exit, MAX_DETAILS};
use crate::output::Format;
use crate::terminal_text::{self, MAX_MESSAGE_CHARS};

/// The name of an exit class in a JSON error.
pub fn code_name(exit: Exit) -> &'static str {
    match exit {
        Exit::Ok => "ok",
        Exit::Other => "other",
        Exit::Usage => "usage",
        Exit::Auth => "auth",
        Exit::NotFound => "not_found",
        Exit::Validation => "validation",
        Exit::RateLimited => "rate_limited",
        Exit::Server => "server",
        Exit::Network => "network",
        Exit::Forbidden => "forbidden",
    }
}

/// Whether errors are printed as JSON: only with `--format json` given (JSON Lines, CSV, a
/// table and the default keep the `dbsync: ` line).
pub fn wanted(format: Option<Format>) -> bool {
    format == Some(Format::Json)
}

/// `--format json` (or `--format=json`) among raw arguments, for a command line clap refused.
pub fn wanted_in_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> bool {
    let mut previous_was_format = false;
    for arg in args {
        let Some(arg) = arg.to_str() else {
            previous_was_format = false;
            continue;
        };
        if arg == "--" {
            return false;
        }
        if (previous_was_format && arg == "json") || arg == "--format=json" {
            return true;
        }
        previous_was_format = arg == "--format";
    }
    false
}

/// The JSON object of `error`.
pub fn to_json(error: &CliError) -> Value {
    let details: Vec<Value> = error
        .details
        .iter()
        .take(MAX_DETAILS)
        .map(|d| {
            json!({
                "field": terminal_text::cut(&d.field, MAX_MESSAGE_CHARS),
                "message": terminal_text::cut(&d.message, MAX_MESSAGE_CHARS),
            })
        })
        .collect();
    let mut inner = json!({
        "code": code_name(error.exit),
        "message": error.message,
        "exit_code": error.exit.code(),
    });
    if let Some(map) = inner.as_object_mut() {
        if !details.is_empty() {
            map.insert("details".into(), Value::Array(details));
        }
        if error.details.len() > MAX_DETAILS {
            map.insert(
                "details_cut".into(),
                json!(error.details.len() - MAX_DETAILS),
            );
        }
    }
    json!({ "error": inner })
}

/// The line printed on stderr: compact JSON, every control character escaped.
pub fn line(error: &CliError) -> String {
    let text = to_json(error).to_string();
    terminal_text::escape_json_controls(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_one_json_object_with_code_message_and_exit_code() {
        let error = CliError::new(Exit::NotFound, "not found (404): \u{1b}]0;x\u{7} \u{9b}");
        let line = line(&error);
        assert_eq!(line.lines().count(), 1);
        assert!(!line.chars().any(terminal_text::is_control), "{line:?}");
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["error"]["code"], "not_found");
        assert_eq!(value["error"]["exit_code"], 4);
        assert_eq!(value["error"]["message"], error.message);
        assert!(value["error"].get("details").is_none());
    }

    #[test]
    fn details_are_kept_up_to_the_cap() {
        let details: Vec<dbsync_client::ErrorDetail> = serde_json::from_value(json!(
            (0..MAX_DETAILS + 3)
                .map(|i| json!({"field": format!("f{i}"), "message": "bad"}))
                .collect::<Vec<_>>()
        ))
        .unwrap();
        let error = CliError {
            exit: Exit::Validation,
            message: "validation failed".into(),
            details,
        };
        let value = to_json(&error);
        assert_eq!(
            value["error"]["details"].as_array().unwrap().len(),
            MAX_DETAILS
        );
        assert_eq!(value["error"]["details"][0]["field"], "f0");
        assert_eq!(value["error"]["details_cut"], 3);
    }

    #[test]
    fn format_json_is_found_in_raw_arguments() {
        let args = |a: &[&str]| a.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert!(wanted_in_args(args(&[
            "dbsync", "--format", "json", "lisst"
        ])));
        assert!(wanted_in_args(args(&[
            "dbsync",
            "list",
            "--format=json",
            "--bad"
        ])));
        assert!(!wanted_in_args(args(&["dbsync", "--format", "jsonl", "x"])));
        assert!(!wanted_in_args(args(&[
            "dbsync", "get", "--", "--format", "json"
        ])));
        assert!(!wanted_in_args(args(&["dbsync", "get", "json"])));
    }
}
