//! Record ids as the contract orders them: numerically where they are digits.

use std::cmp::Ordering;

use serde::Deserialize as _;
use serde_json::Value;

/// The id of a record as a string (a string or an integer on the wire), if it has one.
pub(crate) fn record_id(record: &Value) -> Option<String> {
    crate::Id::deserialize(record.get("id")?)
        .ok()
        .map(String::from)
}

/// Compares two ids in list order: ids made only of digits compare as numbers (of any size)
/// and before other ids; other ids compare as strings.
pub(crate) fn compare_ids(a: &str, b: &str) -> Ordering {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    match (digits(a), digits(b)) {
        (true, true) => {
            let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
            a.len().cmp(&b.len()).then_with(|| a.cmp(b))
        }
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numeric_ids_compare_as_numbers() {
        assert_eq!(compare_ids("9", "10"), Ordering::Less);
        assert_eq!(compare_ids("010", "10"), Ordering::Equal);
        assert_eq!(
            compare_ids("123456789012345678901234567890", "99"),
            Ordering::Greater
        );
        assert_eq!(compare_ids("b", "a"), Ordering::Greater);
        assert_eq!(compare_ids("5", "a"), Ordering::Less);
    }

    #[test]
    fn ids_are_read_from_numbers_and_strings() {
        assert_eq!(record_id(&json!({"id": 7})), Some("7".into()));
        assert_eq!(record_id(&json!({"id": "x"})), Some("x".into()));
        assert_eq!(record_id(&json!({"id": null})), None);
        assert_eq!(record_id(&json!({})), None);
    }
}
