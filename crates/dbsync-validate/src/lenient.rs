//! Which unknown schema members a lenient parse may ignore.
//!
//! A server can put more in its schema than this crate checks (`label`, `description`, ...).
//! Ignoring those is right; ignoring a member that *looks like a constraint* is not, because the
//! client would then accept records the server refuses. A member is constraint-like when, with
//! case, `_` and `-` ignored, it is a known member, a constraint name from another vocabulary
//! (JSON Schema's `minimum`, `maxLength`, ...), or one typo away from a known member (two for
//! names longer than four letters): `max_lenght`, `requird`, `additionalFields`.

/// Members of a field definition, normalized (lowercase, no `_`/`-`).
const FIELD_MEMBERS: [&str; 12] = [
    "name",
    "type",
    "required",
    "nullable",
    "unique",
    "min",
    "max",
    "minlength",
    "maxlength",
    "pattern",
    "enum",
    "format",
];

/// Members of a schema document, normalized.
const SCHEMA_MEMBERS: [&str; 2] = ["fields", "additionalfields"];

/// Constraint names of other vocabularies (JSON Schema, OpenAPI, common form builders),
/// normalized: a schema that uses them means a constraint this crate would not check.
const FOREIGN_CONSTRAINTS: [&str; 22] = [
    "minimum",
    "maximum",
    "exclusiveminimum",
    "exclusivemaximum",
    "multipleof",
    "minitems",
    "maxitems",
    "uniqueitems",
    "minproperties",
    "maxproperties",
    "const",
    "regex",
    "allowedvalues",
    "choices",
    "optional",
    "notnull",
    "nonnull",
    "allownull",
    "length",
    "minsize",
    "maxsize",
    "additionalproperties",
];

fn normalize(member: &str) -> String {
    member
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Optimal string alignment distance (edits, with adjacent transpositions), stopping early:
/// `None` when it is above `max`.
fn distance_within(a: &str, b: &str, max: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    // Three rows of the dynamic-programming table: two back, one back, current.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current: Vec<usize> = vec![0; b.len() + 1];
    for (i, &ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            let mut best = (previous[j] + cost)
                .min(previous[j + 1] + 1)
                .min(current[j] + 1);
            if i > 0 && j > 0 && a.get(i - 1) == Some(&cb) && b.get(j - 1) == Some(&ca) {
                best = best.min(before[j - 1] + 1);
            }
            current[j + 1] = best;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous.last().copied().filter(|d| *d <= max)
}

fn close_to_any(normalized: &str, known: &[&str]) -> bool {
    known.iter().any(|k| {
        let max = if k.chars().count() <= 4 { 1 } else { 2 };
        distance_within(normalized, k, max).is_some()
    })
}

/// Whether an unknown member of a field definition looks like a constraint (refused even by a
/// lenient parse).
pub(crate) fn field_member_is_constraint_like(member: &str) -> bool {
    let normalized = normalize(member);
    FOREIGN_CONSTRAINTS.contains(&normalized.as_str()) || close_to_any(&normalized, &FIELD_MEMBERS)
}

/// Whether an unknown top-level member of a schema looks like `fields` or `additional_fields`
/// (or another vocabulary's constraint), so a lenient parse refuses it.
pub(crate) fn schema_member_is_constraint_like(member: &str) -> bool {
    let normalized = normalize(member);
    FOREIGN_CONSTRAINTS.contains(&normalized.as_str()) || close_to_any(&normalized, &SCHEMA_MEMBERS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspelt_and_foreign_constraints_are_constraint_like() {
        for member in [
            "max_lenght",
            "maxLength",
            "max-length",
            "MIN_LENGTH",
            "requird",
            "reqiured",
            "nullabel",
            "uniqe",
            "patern",
            "enums",
            "formats",
            "mni",
            "minimum",
            "exclusiveMaximum",
            "const",
            "regex",
            "Required",
        ] {
            assert!(field_member_is_constraint_like(member), "{member}");
        }
        for member in [
            "additionalFields",
            "additional_field",
            "field",
            "additionalProperties",
        ] {
            assert!(schema_member_is_constraint_like(member), "{member}");
        }
    }

    #[test]
    fn descriptive_members_are_not_constraint_like() {
        for member in [
            "label",
            "description",
            "title",
            "default",
            "example",
            "placeholder",
            "help_text",
            "group",
            "order",
            "unit",
            "mask",
            "deprecated",
            "x-ui-widget",
        ] {
            assert!(!field_member_is_constraint_like(member), "{member}");
        }
        for member in ["version", "resource", "description", "updated_at"] {
            assert!(!schema_member_is_constraint_like(member), "{member}");
        }
    }

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance_within("maxlenght", "maxlength", 2), Some(1));
        assert_eq!(distance_within("abc", "abc", 0), Some(0));
        assert_eq!(distance_within("label", "name", 2), None);
        assert_eq!(distance_within("", "min", 3), Some(3));
    }
}
