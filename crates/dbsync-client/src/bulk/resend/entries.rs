//! Sorting the lines of a failures journal before a resend: which are sent as new creates,
//! which join the group of their lost request, and which are not sent (and why).

use serde_json::{Value, json};

use super::RecordCheck;
use super::groups::Member;
use crate::bulk::journal::JournalOutcome;
use crate::error::Error;

/// Whether `key` can be an `Idempotency-Key` header as it is (the rule of
/// `http::HeaderValue::from_str`, which dbsync-client applies: no control character but tab),
/// and is not blank.
pub(crate) fn header_can_carry(key: &str) -> bool {
    !key.trim().is_empty() && key.bytes().all(|b| (b >= 32 && b != 127) || b == b'\t')
}
/// One record that was not saved (or may not have been).
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) line: u64,
    pub(crate) record: Value,
    /// Found wanting before anything was sent (a malformed line, a record failing the check).
    pub(crate) invalid: bool,
    /// The error of the request, when one was sent.
    pub(crate) cause: Option<Error>,
    pub(crate) error: Value,
    pub(crate) outcome: JournalOutcome,
    /// The `Idempotency-Key` of the create request that carried the record, kept only when the
    /// outcome of every record of that request is unknown (see [`super::settle`]).
    pub(crate) idempotency_key: Option<String>,
    /// With the key: when the request was first sent (RFC 3339 UTC, a lower bound).
    pub(crate) key_sent_at: Option<String>,
    /// With the key: the record's place in its request, and that request's record count.
    pub(crate) request_position: Option<u64>,
    pub(crate) request_size: Option<u64>,
}

impl Failure {
    /// A failure found before anything was sent.
    pub(crate) fn local(line: u64, record: Value, error: Value) -> Self {
        Self {
            line,
            record,
            invalid: true,
            cause: None,
            error,
            outcome: JournalOutcome::NotSaved,
            idempotency_key: None,
            key_sent_at: None,
            request_position: None,
            request_size: None,
        }
    }

    /// A line of a failures file not sent again because its record may have been saved.
    pub(crate) fn unsent(line: u64, record: Value, error: Value) -> Self {
        Self {
            line,
            record,
            invalid: false,
            cause: None,
            error,
            outcome: JournalOutcome::Unknown,
            idempotency_key: None,
            key_sent_at: None,
            request_position: None,
            request_size: None,
        }
    }
}

pub(crate) fn local_error(message: String, details: Value) -> Value {
    json!({"code": null, "message": message, "details": details})
}

/// One line of the input, sorted out before anything is sent.
pub(crate) enum Item {
    /// Send it as a new create, or as an update.
    Send(Value),
    /// Send it again, unchanged, with the key of the create request that first carried it.
    Again {
        /// That request's `Idempotency-Key`.
        key: String,
        /// The line.
        member: Member,
    },
    /// It is not sent: it fails as it is.
    Fail(Failure),
}

/// How the message of a line of a failures file that is not sent again begins.
pub(crate) const NOT_SENT: &str = "not sent again: ";

/// A line of the failures file of a create (`dbsync resend`): a record `"not_saved"` is sent as
/// a new create (when it passes the caller's check); an `"unknown"` one with an `"idempotency_key"` joins
/// that key's group (see [`super::groups::Groups`]); any other line is not sent, since its record may have been
/// saved (or, malformed, it cannot be told). A malformed line that names a key joins its group
/// too, so that the group is not sent without it.
pub(crate) fn sort_entry(
    line: u64,
    value: Result<Value, (String, String)>,
    check: Option<&RecordCheck>,
) -> Item {
    let malformed = |record: Value, why: String| Failure {
        invalid: true,
        ..Failure::unsent(
            line,
            record,
            local_error(
                format!(
                    "{NOT_SENT}this line is not an entry of a failures file ({why}), so the \
                     outcome is unknown (its record may have been saved); fix the line (it \
                     needs \"record\" and \"outcome\") or check whether the record exists"
                ),
                json!([]),
            ),
        )
    };
    let entry = match value {
        Err((message, raw)) => return Item::Fail(malformed(Value::String(raw), message)),
        Ok(Value::Object(entry)) => entry,
        Ok(other) => return Item::Fail(malformed(other, "not a JSON object".into())),
    };
    let key = match entry.get("idempotency_key") {
        None | Some(Value::Null) => None,
        Some(Value::String(key)) if key.trim().is_empty() => None,
        Some(Value::String(key)) if !header_can_carry(key) => {
            return Item::Fail(malformed(
                Value::Object(entry.clone()),
                "its \"idempotency_key\" has characters a header cannot carry".into(),
            ));
        }
        Some(Value::String(key)) => Some(key.clone()),
        Some(_) => {
            return Item::Fail(malformed(
                Value::Object(entry),
                "\"idempotency_key\" is neither a string nor null".into(),
            ));
        }
    };
    // A line of a key's group, or a malformed line naming a key (its group is then not sent).
    let member = |record: Value, bad: Option<Failure>| {
        let key = key.clone().unwrap_or_default();
        Item::Again {
            key,
            member: Member {
                line,
                record,
                sent_at: entry
                    .get("key_sent_at")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                position: entry.get("request_position").and_then(Value::as_u64),
                size: entry.get("request_size").and_then(Value::as_u64),
                error: entry.get("error").cloned(),
                bad,
            },
        }
    };
    let bad = |record: Value, why: String| {
        let failure = malformed(record.clone(), why);
        if key.is_some() {
            member(record, Some(failure))
        } else {
            Item::Fail(failure)
        }
    };
    let Some(record) = entry.get("record").cloned() else {
        return bad(Value::Object(entry.clone()), "no \"record\"".into());
    };
    let unsent = |record: Value, why: String| {
        Item::Fail(Failure::unsent(
            line,
            record,
            unsent_error(entry.get("error"), why),
        ))
    };
    match entry.get("outcome") {
        Some(Value::String(outcome)) if outcome == "not_saved" => {
            match check.map_or(Ok(()), |check| check(&record)) {
                Ok(()) => Item::Send(record),
                Err(error) => Item::Fail(Failure::local(line, record, error)),
            }
        }
        Some(Value::String(outcome)) if outcome == "unknown" => match key {
            Some(_) => member(record, None),
            None => unsent(
                record,
                format!(
                    "{NOT_SENT}the outcome is unknown (the request was sent but its answer was \
                     lost, so the record may have been saved) and there is no idempotency_key \
                     to send it again safely with; {CHECK}"
                ),
            ),
        },
        None => unsent(
            record,
            format!(
                "{NOT_SENT}this line has no \"outcome\" (a failures file from an older dbsync), \
                 so the outcome is unknown (the record may have been saved); {CHECK}"
            ),
        ),
        Some(other) => bad(
            Value::Object(entry.clone()),
            format!("\"outcome\" is {other}, not \"not_saved\" or \"unknown\""),
        ),
    }
}

/// What to do about a record that may exist.
pub(crate) const CHECK: &str = "check whether it exists (e.g. `dbsync list --where FIELD=VALUE` on a unique \
                     field) and, if it does not, create it with `dbsync create`";

/// The error of a line not sent: `why`, with the line's first error (an earlier resend's
/// "not sent" message is kept as it is).
pub(crate) fn unsent_error(earlier: Option<&Value>, why: String) -> Value {
    match earlier
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
    {
        Some(message) if message.starts_with(NOT_SENT) => earlier.cloned().unwrap_or_default(),
        Some(message) => local_error(format!("{why} (first error: {message})"), json!([])),
        None => local_error(why, json!([])),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::time::SystemTime;
    pub(crate) fn sorted(text: &str) -> Item {
        let value = serde_json::from_str::<Value>(text)
            .map_err(|e| (format!("not a JSON document: {e}"), text.into()));
        sort_entry(3, value, None)
    }

    /// The failure of a line that is not sent: its outcome, key and message.
    fn failure_of(item: Item) -> (JournalOutcome, Option<String>, String, Value) {
        match item {
            Item::Fail(failure) => (
                failure.outcome,
                failure.idempotency_key,
                failure.error["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                failure.record,
            ),
            Item::Send(record) => panic!("sent as new: {record}"),
            Item::Again { key, member } => panic!("sent again with {key}: {}", member.record),
        }
    }

    #[test]
    fn each_line_of_a_failures_file_is_sorted_by_its_outcome() {
        let record = json!({"email": "a@example.com"});
        let line = |outcome: Value, key: Value| {
            json!({"line": 9, "record": record, "error": {"message": "lost"}, "outcome": outcome, "idempotency_key": key})
                .to_string()
        };
        match sorted(&line(json!("not_saved"), Value::Null)) {
            Item::Send(sent) => assert_eq!(sent, record),
            _ => panic!("a record not saved is sent as new"),
        }
        match sorted(&line(json!("unknown"), json!("k1"))) {
            Item::Again { key, member } => {
                assert_eq!(key, "k1");
                assert_eq!(member.record, record);
                assert!(member.bad.is_none());
            }
            _ => panic!("an unknown record with a key joins its group"),
        }
        for key in [Value::Null, json!("  ")] {
            let (outcome, key, message, _) = failure_of(sorted(&line(json!("unknown"), key)));
            assert_eq!((outcome, key), (JournalOutcome::Unknown, None));
            assert!(message.starts_with(NOT_SENT), "{message}");
            assert!(message.contains("(first error: lost)"), "{message}");
        }
        let old = json!({"line": 9, "record": record, "error": {"message": "lost"}}).to_string();
        let (outcome, _, message, _) = failure_of(sorted(&old));
        assert_eq!(outcome, JournalOutcome::Unknown);
        assert!(message.contains("older dbsync"), "{message}");
        // Malformed: never sent, whatever they hold.
        for (text, why) in [
            ("{\"record\": ", "not a JSON document"),
            ("[1]", "not a JSON object"),
            ("{\"outcome\": \"not_saved\"}", "no \"record\""),
            (&line(json!("lost"), Value::Null), "\"outcome\" is \"lost\""),
            (
                &line(json!("unknown"), json!(7)),
                "\"idempotency_key\" is neither",
            ),
        ] {
            let (outcome, key, message, _) = failure_of(sorted(text));
            assert_eq!((outcome, key), (JournalOutcome::Unknown, None), "{text}");
            assert!(message.contains(why), "{text}: {message}");
        }
        // A line not sent by an earlier resend keeps its message, not wrapped again.
        let earlier = json!({"record": record, "error": {"message": format!("{NOT_SENT}why")}, "outcome": "unknown", "idempotency_key": null});
        let (_, _, message, _) = failure_of(sorted(&earlier.to_string()));
        assert_eq!(message, format!("{NOT_SENT}why"));
    }

    #[test]
    fn a_key_a_header_cannot_carry_makes_the_line_malformed() {
        for key in ["bad\nkey", "bad\u{7f}", "a\rb"] {
            let text = json!({"record": {"a": 1}, "outcome": "unknown", "idempotency_key": key, "key_sent_at": dbsync_contract::timestamp::format_seconds(SystemTime::now()), "request_position": 0, "request_size": 1}).to_string();
            match sorted(&text) {
                Item::Fail(failure) => {
                    assert!(failure.invalid, "{key:?}");
                    assert_eq!(failure.idempotency_key, None);
                    let message = failure.error["message"].as_str().unwrap();
                    assert!(message.contains("a header cannot carry"), "{message}");
                }
                _ => panic!("{key:?} is sent"),
            }
        }
        assert!(header_can_carry("2f1e-aa_09.Z"));
    }
}
