//! Which part of a partitioned read this process takes: `--partition I/N` (0-based `I`), or
//! `--partition N` with `I` from `JOB_COMPLETION_INDEX` (set by a Kubernetes Indexed Job), so
//! N processes together read every record once.

use std::fmt;

/// The most partitions a read may be split into.
pub const MAX_PARTITIONS: usize = 10_000;

/// The environment variable a Kubernetes Indexed Job sets to the pod's index.
pub const JOB_INDEX_VAR: &str = "JOB_COMPLETION_INDEX";

/// Partition `index` of `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionSpec {
    index: usize,
    count: usize,
}

impl PartitionSpec {
    /// Partition `index` of `count`; `count` in `1..=MAX_PARTITIONS`, `index < count`.
    pub fn new(index: usize, count: usize) -> Result<Self, String> {
        if count == 0 || count > MAX_PARTITIONS {
            return Err(format!(
                "the partition count must be 1..={MAX_PARTITIONS}, not {count}"
            ));
        }
        if index >= count {
            return Err(format!(
                "partition index {index} is out of range for {count} partitions (0..{count})"
            ));
        }
        Ok(Self { index, count })
    }

    /// Parses `I/N`, or `N` with the index from `job_index` (the value of
    /// [`JOB_INDEX_VAR`], if set).
    pub fn parse(text: &str, job_index: Option<&str>) -> Result<Self, String> {
        let number = |what: &str, s: &str| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| format!("the partition {what} `{s}` is not a whole number"))
        };
        match text.split_once('/') {
            Some((index, count)) => Self::new(number("index", index)?, number("count", count)?),
            None => {
                let count = number("count", text)?;
                let Some(index) = job_index else {
                    return Err(format!(
                        "--partition {text} takes the index from {JOB_INDEX_VAR}, which is not \
                         set: give I/N"
                    ));
                };
                Self::new(number("index", index)?, count)
            }
        }
    }

    /// The 0-based index.
    pub fn index(&self) -> usize {
        self.index
    }

    /// How many partitions there are.
    pub fn count(&self) -> usize {
        self.count
    }
}

impl fmt::Display for PartitionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_i_of_n_and_the_job_index() {
        assert_eq!(PartitionSpec::parse("2/5", None), PartitionSpec::new(2, 5));
        assert_eq!(
            PartitionSpec::parse("4", Some("3")),
            PartitionSpec::new(3, 4)
        );
        assert_eq!(PartitionSpec::parse("1/4", Some("3")).unwrap().index(), 1);
        for bad in ["5/5", "0/0", "x/2", "2", "1/99999999"] {
            assert!(PartitionSpec::parse(bad, None).is_err(), "{bad}");
        }
        assert!(PartitionSpec::parse("2", Some("2")).is_err());
    }
}
