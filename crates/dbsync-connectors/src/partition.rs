//! The partition `I/N` of a scaled-out run: N processes each read one partition, together
//! every record exactly once. `I` may come from `JOB_COMPLETION_INDEX` (set by a Kubernetes
//! Indexed Job), so `--partition N` is enough there; see `docs/scale-out.md`.

use crate::error::ConnectorError;

/// The variable a Kubernetes Indexed Job sets to the pod's index.
pub const INDEX_VARIABLE: &str = "JOB_COMPLETION_INDEX";
/// The most partitions of a run.
pub const MAX_PARTITIONS: usize = 10_000;

/// Partition `index` of `count` (0-based; always `index < count <= MAX_PARTITIONS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionSpec {
    index: usize,
    count: usize,
}

impl PartitionSpec {
    /// Partition `index` of `count`: `count` from 1 to [`MAX_PARTITIONS`], `index < count`.
    pub fn new(index: usize, count: usize) -> Result<Self, ConnectorError> {
        Self::parse(&format!("{index}/{count}"), None)
    }

    /// Which partition (0-based, below [`PartitionSpec::count`]).
    pub fn index(&self) -> usize {
        self.index
    }

    /// How many partitions.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Parses `I/N` or `N`; `env_index` (the value of [`INDEX_VARIABLE`], when set) gives `I`
    /// for `N`, and must agree with an explicit `I`.
    pub fn parse(spec: &str, env_index: Option<&str>) -> Result<Self, ConnectorError> {
        let bad = |why: &str| {
            ConnectorError::Config(format!(
                "--partition `{}`: {why} (use I/N with 0 <= I < N, or N with {INDEX_VARIABLE} set)",
                spec.chars().take(32).collect::<String>()
            ))
        };
        let number = |text: &str, what: &str| -> Result<usize, ConnectorError> {
            text.trim()
                .parse::<usize>()
                .map_err(|_| bad(&format!("{what} is not a number")))
        };
        let env = env_index
            .map(|value| number(value, INDEX_VARIABLE))
            .transpose()?;
        let (index, count) = match spec.split_once('/') {
            Some((i, n)) => {
                let index = number(i, "I")?;
                if env.is_some_and(|e| e != index) {
                    return Err(bad(&format!(
                        "I disagrees with {INDEX_VARIABLE}={}",
                        env.unwrap_or_default()
                    )));
                }
                (index, number(n, "N")?)
            }
            None => {
                let count = number(spec, "N")?;
                let index = env.ok_or_else(|| bad(&format!("no I and {INDEX_VARIABLE} unset")))?;
                (index, count)
            }
        };
        if count == 0 || count > MAX_PARTITIONS {
            return Err(bad(&format!("N must be from 1 to {MAX_PARTITIONS}")));
        }
        if index >= count {
            return Err(bad("I must be below N"));
        }
        Ok(Self { index, count })
    }

    /// Reads `I` from the process environment's [`INDEX_VARIABLE`].
    pub fn parse_with_env(spec: &str) -> Result<Self, ConnectorError> {
        let env = std::env::var(INDEX_VARIABLE).ok();
        Self::parse(spec, env.as_deref().filter(|v| !v.is_empty()))
    }
}

impl std::fmt::Display for PartitionSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let p = PartitionSpec::parse("2/4", None).unwrap();
        assert_eq!((p.index(), p.count()), (2, 4));
        assert_eq!(PartitionSpec::new(2, 4).unwrap(), p);
        assert!(PartitionSpec::new(4, 4).is_err());
        assert_eq!(p.to_string(), "2/4");
        let p = PartitionSpec::parse("4", Some("3")).unwrap();
        assert_eq!((p.index(), p.count()), (3, 4));
        assert_eq!(PartitionSpec::parse("3/4", Some("3")).unwrap().index(), 3);
    }

    #[test]
    fn bad_forms() {
        for (spec, env, needle) in [
            ("4/4", None, "below N"),
            ("0/0", None, "N must be"),
            ("4", None, "unset"),
            ("x/4", None, "not a number"),
            ("1/4", Some("2"), "disagrees"),
            ("4", Some("9"), "below N"),
            ("1/99999", None, "N must be"),
        ] {
            let error = PartitionSpec::parse(spec, env).unwrap_err().to_string();
            assert!(error.contains(needle), "{spec}: {error}");
        }
    }
}
