//! [`SchemaLimits`]: how large and costly a schema read from untrusted JSON (a server's) may be,
//! and compiling patterns within those limits.

use regex::{Regex, RegexBuilder};

use super::PATTERN_SIZE_LIMIT;
use crate::error::SchemaError;

/// Limits on a schema's size and cost, for a schema from a source that is not trusted (a server
/// a client fetches it from). Without limits, a schema of many fields with large patterns
/// compiles to gigabytes. Read such a schema with [`Schema::from_json_with_limits`] or
/// [`Schema::from_json_lenient_with_limits`](crate::Schema::from_json_lenient_with_limits);
/// schemas built in code or read with [`Schema::from_json`](crate::Schema::from_json) only have
/// the per-pattern [`PATTERN_SIZE_LIMIT`].
///
/// A schema over a limit is refused with [`SchemaError::TooComplex`], naming the limit and the
/// numbers.
///
/// ```
/// use dbsync_validate::{Schema, SchemaError, SchemaLimits};
/// use serde_json::json;
///
/// let mut limits = SchemaLimits::default();
/// assert_eq!(limits.max_fields, 1_000);
/// limits.max_fields = 1;
/// let schema = json!({"fields": [{"name": "a", "type": "string"}, {"name": "b", "type": "string"}]});
/// let err = Schema::from_json_with_limits(&schema, &limits).unwrap_err();
/// assert!(matches!(err, SchemaError::TooComplex { limit: "max_fields", .. }));
/// ```
///
/// [`Schema::from_json_with_limits`]: crate::Schema::from_json_with_limits
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SchemaLimits {
    /// Most fields a schema may have (default 1,000).
    pub max_fields: usize,
    /// Most bytes of `pattern` text in all fields together (default 64 KiB).
    pub max_pattern_bytes: usize,
    /// Compiled size limit of one pattern, in bytes (default [`PATTERN_SIZE_LIMIT`], 1 MiB).
    pub pattern_size_limit: usize,
    /// Most compiled pattern bytes in all fields together (default 32 MiB). Each pattern counts
    /// as the smallest of 4 KiB, 8 KiB, 16 KiB, ... (doubling) and `pattern_size_limit` that it
    /// compiles within: `^[A-Za-z0-9]+$` counts 4 KiB, `^\w+$` (Unicode classes are large)
    /// 64 KiB, `\w{20}` 1 MiB. So 500 fields of `^\w+$` fit, and 33 patterns each near 1 MiB
    /// do not.
    pub max_compiled_pattern_bytes: usize,
}

impl Default for SchemaLimits {
    fn default() -> SchemaLimits {
        SchemaLimits {
            max_fields: 1_000,
            max_pattern_bytes: 64 * 1024,
            pattern_size_limit: PATTERN_SIZE_LIMIT,
            max_compiled_pattern_bytes: 32 * 1024 * 1024,
        }
    }
}

/// The smallest compiled size a pattern is tried at; the next tries double it, up to
/// `pattern_size_limit`. A try that fails stops as soon as it is over its size, so all the
/// tries together cost at most about twice the last.
const FIRST_COMPILED_STEP: usize = 4 * 1024;

/// The compiled sizes a pattern is tried at: 4 KiB doubling while under `limit`, then `limit`.
fn compiled_steps(limit: usize) -> impl Iterator<Item = usize> {
    std::iter::successors(Some(FIRST_COMPILED_STEP), |step| step.checked_mul(2))
        .take_while(move |&step| step < limit)
        .chain([limit])
}

/// Compiles the patterns of one schema, keeping count of what they cost against the limits
/// (none but [`PATTERN_SIZE_LIMIT`] for a schema built in code).
#[derive(Debug, Default)]
pub(crate) struct PatternBudget {
    limits: Option<SchemaLimits>,
    source_bytes: usize,
    compiled_bytes: usize,
}

impl PatternBudget {
    /// A budget for a schema read with `limits`.
    pub(crate) fn new(limits: SchemaLimits) -> PatternBudget {
        PatternBudget {
            limits: Some(limits),
            ..PatternBudget::default()
        }
    }

    /// Compiles the pattern of `field`, counting it against the limits.
    pub(crate) fn compile(&mut self, field: &str, pattern: &str) -> Result<Regex, SchemaError> {
        let invalid = |e: regex::Error| SchemaError::InvalidPattern {
            field: field.to_owned(),
            reason: e.to_string(),
        };
        let Some(limits) = self.limits else {
            return build(pattern, PATTERN_SIZE_LIMIT, PATTERN_SIZE_LIMIT).map_err(invalid);
        };
        self.source_bytes = self.source_bytes.saturating_add(pattern.len());
        if self.source_bytes > limits.max_pattern_bytes {
            return Err(SchemaError::TooComplex {
                limit: "max_pattern_bytes",
                max: limits.max_pattern_bytes,
                reason: format!(
                    "the patterns up to field `{field}` hold {} bytes of text",
                    self.source_bytes
                ),
            });
        }
        for step in compiled_steps(limits.pattern_size_limit) {
            match build(pattern, step, limits.pattern_size_limit) {
                Ok(regex) => {
                    self.compiled_bytes = self.compiled_bytes.saturating_add(step);
                    if self.compiled_bytes > limits.max_compiled_pattern_bytes {
                        return Err(SchemaError::TooComplex {
                            limit: "max_compiled_pattern_bytes",
                            max: limits.max_compiled_pattern_bytes,
                            reason: format!(
                                "the patterns up to field `{field}` count as {} compiled bytes",
                                self.compiled_bytes
                            ),
                        });
                    }
                    return Ok(regex);
                }
                Err(regex::Error::CompiledTooBig(_)) => continue,
                Err(e) => return Err(invalid(e)),
            }
        }
        Err(SchemaError::TooComplex {
            limit: "pattern_size_limit",
            max: limits.pattern_size_limit,
            reason: format!(
                "the pattern of field `{field}` needs more than {} bytes compiled",
                limits.pattern_size_limit
            ),
        })
    }
}

/// Checks the field count of a schema read with `limits`.
pub(crate) fn check_field_count(count: usize, limits: &SchemaLimits) -> Result<(), SchemaError> {
    if count > limits.max_fields {
        return Err(SchemaError::TooComplex {
            limit: "max_fields",
            max: limits.max_fields,
            reason: format!("it has {count} fields"),
        });
    }
    Ok(())
}

fn build(pattern: &str, size_limit: usize, dfa_size_limit: usize) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .size_limit(size_limit)
        .dfa_size_limit(dfa_size_limit)
        .build()
}
