//! The lines of a lost request, gathered over a whole journal: a group is sent again with its
//! key only when it is exactly that request (every position once, at most 100 records) and the
//! server still remembers the key.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use dbsync_contract::{IDEMPOTENCY_KEY_LIFETIME, MAX_BATCH_SIZE};
use serde_json::Value;

use super::entries::{CHECK, Failure, NOT_SENT, unsent_error};
use crate::bulk::journal::JournalOutcome;

/// How old a key may be and still be sent again: an hour under the time the server keeps an
/// `Idempotency-Key`, for clocks and the time the resend takes.
const KEY_MAX_AGE: Duration = IDEMPOTENCY_KEY_LIFETIME.saturating_sub(Duration::from_secs(3600));

/// How far in the future a `key_sent_at` may be (clock differences) and still be believed.
const CLOCK_SKEW: Duration = Duration::from_secs(300);

/// A line of a failures file with an `"idempotency_key"`: one record of that key's request.
pub(crate) struct Member {
    pub(crate) line: u64,
    pub(crate) record: Value,
    /// `key_sent_at`, `request_position` and `request_size`, when readable.
    pub(crate) sent_at: Option<String>,
    pub(crate) position: Option<u64>,
    pub(crate) size: Option<u64>,
    /// The line's earlier error.
    pub(crate) error: Option<Value>,
    /// A malformed line naming the key: its failure.
    pub(crate) bad: Option<Failure>,
}

/// The lines of `dbsync resend` to send again with their request's key, by key, gathered over
/// the whole file: a group is sent only once complete and checked (see [`check_group`]).
#[derive(Default)]
pub(crate) struct Groups {
    groups: HashMap<String, Vec<Member>>,
    /// The keys, by their first line.
    order: Vec<String>,
}

impl Groups {
    pub(crate) fn push(&mut self, key: String, member: Member) {
        let group = self.groups.entry(key.clone()).or_default();
        if group.is_empty() {
            self.order.push(key);
        }
        group.push(member);
    }

    /// At the end of the input: the groups to send (each in request order), and the failures of
    /// the others.
    pub(crate) fn finish(mut self, now: SystemTime) -> (Vec<(String, Vec<Member>)>, Vec<Failure>) {
        let mut ready = Vec::new();
        let mut failed = Vec::new();
        for key in self.order {
            let members = self.groups.remove(&key).unwrap_or_default();
            match check_group(&key, members, now) {
                Ok(group) => ready.push((key, group)),
                Err(failures) => failed.extend(failures),
            }
        }
        (ready, failed)
    }

    /// When the journal cannot be read to its end: no group is sent (its lines may not all be
    /// known), and each line fails again with its key and place kept, to be sent by a later
    /// resend of the whole file.
    pub(crate) fn abandon(mut self, why: &str) -> Vec<Failure> {
        let mut failed = Vec::new();
        for key in self.order {
            let members = self.groups.remove(&key).unwrap_or_default();
            let why = format!(
                "{NOT_SENT}{why}, so the lines sharing idempotency_key `{key}` may not all be \
                 known and none of them is sent; the outcome is still unknown (the records may \
                 have been saved): resend the file once it can be read to its end"
            );
            failed.extend(group_failures(&key, members, &why, true));
        }
        failed
    }
}

/// Why the key of a group may no longer be kept by the server, if it may not.
fn key_too_old(members: &[Member], now: SystemTime) -> Option<String> {
    for member in members {
        let Some(text) = &member.sent_at else {
            return Some(format!(
                "line {} has no \"key_sent_at\" (a file from an older dbsync, or edited), so \
                 the key's age is not known",
                member.line
            ));
        };
        let Some(at) = dbsync_contract::timestamp::parse(text) else {
            return Some(format!(
                "line {} has a \"key_sent_at\" that is not an RFC 3339 time",
                member.line
            ));
        };
        match now.duration_since(at) {
            Ok(age) if age >= KEY_MAX_AGE => {
                return Some(format!(
                    "it was first sent at {text}, over 23 hours ago (the server keeps a key 24 \
                     hours)"
                ));
            }
            Ok(_) => {}
            Err(ahead) if ahead.duration() > CLOCK_SKEW => {
                return Some(format!(
                    "line {} has a \"key_sent_at\" in the future ({text})",
                    member.line
                ));
            }
            Err(_) => {}
        }
    }
    None
}

/// Why a group is not exactly the records of one request, if it is not.
fn group_problem(members: &[Member]) -> Option<String> {
    if let Some(bad) = members.iter().find(|m| m.bad.is_some()) {
        return Some(format!("line {} is malformed", bad.line));
    }
    let mut size = None;
    for member in members {
        let (Some(position), Some(this_size)) = (member.position, member.size) else {
            return Some(format!(
                "line {} has no \"request_position\" or \"request_size\"",
                member.line
            ));
        };
        match size {
            None => size = Some(this_size),
            Some(size) if size != this_size => {
                return Some(format!(
                    "size mismatch: the lines give request_size {size} and {this_size}"
                ));
            }
            Some(_) => {}
        }
        if position >= this_size {
            return Some(format!(
                "line {} has request_position {position}, not under its request_size \
                 {this_size}",
                member.line
            ));
        }
    }
    let size = size.unwrap_or(0);
    if size == 0 || size > MAX_BATCH_SIZE as u64 {
        return Some(format!(
            "request_size {size} is not a request's (1 to {MAX_BATCH_SIZE} records)"
        ));
    }
    let mut seen: HashMap<u64, u64> = HashMap::new();
    for member in members {
        let position = member.position.unwrap_or_default();
        if let Some(first) = seen.insert(position, member.line) {
            return Some(format!(
                "duplicate position {position} (lines {first} and {})",
                member.line
            ));
        }
    }
    (0..size)
        .find(|position| !seen.contains_key(position))
        .map(|position| format!("missing position {position} of {size}"))
}

/// A group that can be sent again with its key, in its request's order; else the failures of
/// its lines: with the key dropped when the server may have forgotten it (sending it could
/// create the records twice), else with the key kept and why the group is not one request.
pub(crate) fn check_group(
    key: &str,
    mut members: Vec<Member>,
    now: SystemTime,
) -> Result<Vec<Member>, Vec<Failure>> {
    let (why, keep) = if let Some(why) = key_too_old(&members, now) {
        (
            format!(
                "{NOT_SENT}the outcome is unknown (the record may have been saved) and its \
                 idempotency_key `{key}` may no longer be kept by the server ({why}), so \
                 sending it could create the record twice; {CHECK}"
            ),
            false,
        )
    } else if let Some(problem) = group_problem(&members) {
        (
            format!(
                "{NOT_SENT}the lines sharing idempotency_key `{key}` are not exactly the records \
                 of its request ({problem}), so none of them is sent and the outcome is still \
                 unknown (the records may have been saved); restore the lines of that request \
                 as the create wrote them and resend, or {CHECK}"
            ),
            true,
        )
    } else {
        members.sort_by_key(|m| m.position);
        return Ok(members);
    };
    Err(group_failures(key, members, &why, keep))
}

/// The failures of the lines of a group that is not sent: each with `why` (a malformed line
/// with its own error), its outcome still unknown, and the key and places kept when `keep`.
fn group_failures(key: &str, members: Vec<Member>, why: &str, keep: bool) -> Vec<Failure> {
    members
        .into_iter()
        .map(|member| {
            let mut failure = match member.bad {
                Some(mut bad) => {
                    if let Some(Value::String(message)) = bad.error.get_mut("message") {
                        message.push_str(&format!(
                            "; the lines sharing its idempotency_key `{key}` are not sent \
                             without it"
                        ));
                    }
                    bad
                }
                None => {
                    let earlier = member.error.as_ref().filter(|e| {
                        !e.get("message")
                            .and_then(Value::as_str)
                            .is_some_and(|m| m.starts_with(NOT_SENT))
                    });
                    Failure::unsent(
                        member.line,
                        member.record,
                        unsent_error(earlier, why.to_owned()),
                    )
                }
            };
            failure.outcome = JournalOutcome::Unknown;
            if keep {
                failure.idempotency_key = Some(key.to_owned());
                failure.key_sent_at = member.sent_at;
                failure.request_position = member.position;
                failure.request_size = member.size;
            }
            failure
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bulk::resend::entries::tests::sorted;
    use crate::bulk::resend::entries::{Item, local_error};
    use serde_json::json;
    /// A line of a key's group.
    fn member(
        line: u64,
        position: Option<u64>,
        size: Option<u64>,
        sent_at: Option<&str>,
    ) -> Member {
        Member {
            line,
            record: json!({"n": line}),
            sent_at: sent_at.map(str::to_owned),
            position,
            size,
            error: Some(json!({"message": "lost"})),
            bad: None,
        }
    }

    fn group_failures(members: Vec<Member>, now: SystemTime) -> Vec<Failure> {
        match check_group("k", members, now) {
            Ok(group) => panic!(
                "sent: lines {:?}",
                group.iter().map(|m| m.line).collect::<Vec<_>>()
            ),
            Err(failures) => failures,
        }
    }

    #[test]
    fn a_key_is_sent_again_only_when_every_line_says_it_is_under_23_hours_old() {
        let now = SystemTime::now();
        let at = |hours_ago: u64| {
            dbsync_contract::timestamp::format_seconds(now - Duration::from_secs(hours_ago * 3600))
        };
        let fresh = at(22);
        // Fresh and complete: sent, in the request's order.
        let group = check_group(
            "k",
            vec![
                member(5, Some(1), Some(2), Some(&fresh)),
                member(4, Some(0), Some(2), Some(&fresh)),
            ],
            now,
        )
        .unwrap_or_else(|_| panic!("not sent"));
        assert_eq!(group.iter().map(|m| m.line).collect::<Vec<_>>(), vec![4, 5]);
        let old = at(23);
        let future = dbsync_contract::timestamp::format_seconds(now + Duration::from_secs(3600));
        for (sent_at, why) in [
            (None, "no \"key_sent_at\""),
            (Some(old.as_str()), "over 23 hours ago"),
            (Some("not a time"), "not an RFC 3339 time"),
            (Some(future.as_str()), "in the future"),
        ] {
            let failures = group_failures(
                vec![
                    member(1, Some(0), Some(2), Some(&fresh)),
                    member(2, Some(1), Some(2), sent_at),
                ],
                now,
            );
            assert_eq!(failures.len(), 2);
            for failure in failures {
                assert_eq!(failure.outcome, JournalOutcome::Unknown);
                assert_eq!(failure.idempotency_key, None, "the key is dropped");
                assert_eq!(failure.key_sent_at, None);
                let message = failure.error["message"].as_str().unwrap();
                assert!(message.contains(why), "{message}");
                assert!(message.contains("check whether it exists"), "{message}");
                assert!(message.contains("(first error: lost)"), "{message}");
            }
        }
    }

    #[test]
    fn a_group_is_sent_only_when_it_is_exactly_one_whole_request() {
        let now = SystemTime::now();
        let at = dbsync_contract::timestamp::format_seconds(now - Duration::from_secs(60));
        let m = |line, position, size| member(line, position, size, Some(&at));
        let mut malformed = m(3, Some(2), Some(3));
        malformed.bad = Some(Failure::local(
            3,
            json!({}),
            local_error("bad line".into(), json!([])),
        ));
        for (members, why) in [
            (
                vec![
                    m(1, Some(0), Some(2)),
                    m(2, Some(1), Some(2)),
                    m(3, Some(1), Some(2)),
                ],
                "duplicate position 1",
            ),
            (
                vec![m(1, Some(0), Some(3)), m(2, Some(2), Some(3))],
                "missing position 1",
            ),
            (
                vec![m(1, Some(0), Some(2)), m(2, Some(1), Some(3))],
                "size mismatch",
            ),
            (
                vec![m(1, Some(0), Some(1)), m(2, None, None)],
                "no \"request_position\"",
            ),
            (
                vec![m(1, Some(0), Some(2)), m(2, Some(1), Some(2)), malformed],
                "line 3 is malformed",
            ),
            (
                (0..101).map(|i| m(i + 1, Some(i), Some(101))).collect(),
                "request_size 101",
            ),
        ] {
            let lines = members.len();
            let failures = group_failures(members, now);
            assert_eq!(failures.len(), lines, "{why}");
            for failure in failures {
                assert_eq!(failure.outcome, JournalOutcome::Unknown);
                assert_eq!(
                    failure.idempotency_key.as_deref(),
                    Some("k"),
                    "the key is kept"
                );
                assert_eq!(failure.key_sent_at.as_deref(), Some(at.as_str()));
                let message = failure.error["message"].as_str().unwrap();
                assert!(
                    message.contains(why) || message.contains("are not sent without it"),
                    "{why}: {message}"
                );
            }
        }
        // A malformed line naming a key joins its group.
        let text =
            json!({"record": {"a": 1}, "outcome": "lost", "idempotency_key": "k"}).to_string();
        match sorted(&text) {
            Item::Again { key, member } => {
                assert_eq!(key, "k");
                assert!(member.bad.is_some());
            }
            _ => panic!("a malformed line with a key does not join its group"),
        }
    }
}
