//! Resource names: `/v1/{resource}` for any name matching `[a-z][a-z0-9_-]{0,63}`.

/// The rule a resource name follows, as a pattern (for messages).
pub const RESOURCE_NAME_PATTERN: &str = "[a-z][a-z0-9_-]{0,63}";

/// The longest resource name, in bytes (all of its characters are ASCII).
pub const MAX_RESOURCE_NAME_LEN: usize = 64;

/// Names under `/v1` that are the API's own endpoints, not generic resources.
pub const RESERVED_NAMES: [&str; 4] = ["workflows", "logs", "usage", "api-keys"];

/// Whether `name` matches `[a-z][a-z0-9_-]{0,63}`: a lowercase ASCII letter, then up to 63
/// lowercase ASCII letters, digits, `_` or `-`. Reserved names match too (see
/// [`RESERVED_NAMES`]).
pub fn is_valid_resource_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= MAX_RESOURCE_NAME_LEN
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_contract() {
        for ok in [
            "records",
            "a",
            "contacts_v2",
            "contacts_2",
            "x-y",
            &"a".repeat(64),
        ] {
            assert!(is_valid_resource_name(ok), "{ok}");
        }
        for bad in [
            "",
            "Records",
            "1abc",
            "_a",
            "a/b",
            "a.b",
            "a b",
            "../x",
            &"a".repeat(65),
            "é",
            "aé",
        ] {
            assert!(!is_valid_resource_name(bad), "{bad}");
        }
    }
}
