//! Partitioned scans: one scan split into ranges that separate tasks, processes or machines
//! can each read.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;
use crate::query::{Query, Timestamp};
use crate::resource::Resource;

use super::checkpoint::{CHECKPOINT_VERSION, Checkpoint};
use super::id::record_id;
use super::incremental::{Slices, format_time, parse_time};
use super::options::{DEFAULT_OVERLAP, ScanMode};

/// The most partitions a scan is split into ([`Resource::partitions_with`],
/// [`Resource::partition_with`]).
pub const MAX_PARTITIONS: usize = 1_000_000;

/// One part of a partitioned scan ([`Resource::partitions`]): serializable, so it can be sent
/// to another task, process or worker, which scans it with [`Resource::scan_partition`].
///
/// A partition is the checkpoint of a scan that starts at its first record and stops at its
/// last, so a partition's scan can itself be checkpointed and resumed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    index: usize,
    count: usize,
    start: Checkpoint,
}

impl Partition {
    /// Which partition this is (0-based).
    pub fn index(&self) -> usize {
        self.index
    }

    /// How many partitions the scan was split into.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The date range `[from, to)` of a date partition ([`Resource::date_partitions`]).
    pub fn date_range(&self) -> Option<(&str, &str)> {
        let slices = self.start.slices.as_ref()?;
        Some((slices.from.as_deref()?, slices.until.as_str()))
    }

    /// The first offset of the partition.
    pub fn start_offset(&self) -> u64 {
        self.start.offset
    }

    /// The offset where the partition ends (exclusive); `None` for the last partition, which
    /// reads to the end of the list (records appended meanwhile included).
    pub fn end_offset(&self) -> Option<u64> {
        self.start.end_offset
    }

    /// The checkpoint a scan of this partition starts from.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.start
    }
}

/// Splits the scan of `query` into `n` partitions in `mode` (see
/// [`Resource::partitions_with`]).
pub(crate) async fn partitions<T>(
    resource: &Resource<T>,
    query: Query,
    n: usize,
    mode: ScanMode,
) -> Result<Vec<Partition>, Error> {
    let plan = Plan::new(resource, &query, n).await?;
    let mut ids_before: Vec<Option<String>> = vec![None; n + 1];
    if mode == ScanMode::Consistent {
        for (i, id) in ids_before.iter_mut().enumerate().take(n) {
            *id = plan.id_before(resource, &query, i).await?;
        }
    }
    Ok((0..n)
        .map(|i| {
            plan.partition(
                resource,
                &query,
                mode,
                i,
                &ids_before[i],
                &ids_before[i + 1],
            )
        })
        .collect())
}

/// Partition `index` of the `n` partitions of `query` in `mode` (see
/// [`Resource::partition_with`]): the same partition as `partitions(..)[index]`, with at most
/// three requests whatever `n` is.
pub(crate) async fn partition<T>(
    resource: &Resource<T>,
    query: Query,
    index: usize,
    n: usize,
    mode: ScanMode,
) -> Result<Partition, Error> {
    if n > 0 && index >= n {
        return Err(Error::config(format!(
            "partition {index} of {n} does not exist: the index is 0-based, below {n}"
        )));
    }
    let plan = Plan::new(resource, &query, n).await?;
    let (first, next) = if mode == ScanMode::Consistent {
        let first = plan.id_before(resource, &query, index).await?;
        let next = if index + 1 < n {
            plan.id_before(resource, &query, index + 1).await?
        } else {
            None
        };
        (first, next)
    } else {
        (None, None)
    };
    Ok(plan.partition(resource, &query, mode, index, &first, &next))
}

/// The offset bounds of `n` partitions of a list, from its `meta.total`: partition `i` is
/// `[bound(i), bound(i + 1))`, each bound computed when asked (nothing is held per partition).
struct Plan {
    n: usize,
    /// The first offset of the scan.
    start: u64,
    /// Records from `start` to the end of the list.
    size: u64,
}

impl Plan {
    /// Asks for the total (one request with `limit=1`) and cuts it into `n` ranges.
    async fn new<T>(resource: &Resource<T>, query: &Query, n: usize) -> Result<Self, Error> {
        if n == 0 {
            return Err(Error::config(
                "a scan cannot be split into 0 partitions: use 1 or more",
            ));
        }
        if n > MAX_PARTITIONS {
            return Err(Error::config(format!(
                "a scan cannot be split into {n} partitions: at most {MAX_PARTITIONS}"
            )));
        }
        let start = query.get_offset().unwrap_or(0);
        let probe = query.clone().offset(start).limit(1);
        let meta = resource.list_as::<Value>(&probe).await?.meta;
        let Some(total) = meta.and_then(|m| m.total) else {
            return Err(Error::config(
                "partitioning needs the server's meta.total, and the first page has none; scan \
                 the resource with a single scan instead",
            ));
        };
        let size = total.saturating_sub(start);
        Ok(Self { n, start, size })
    }

    /// The first offset of partition `i` (`i == n`: the end of the list).
    fn bound(&self, i: usize) -> u64 {
        let part = u128::from(self.size) * i as u128 / self.n.max(1) as u128;
        self.start
            .saturating_add(u64::try_from(part).unwrap_or(self.size))
    }

    /// The id of the record just before partition `i` (none for a partition at offset 0):
    /// one request with `limit=1`.
    async fn id_before<T>(
        &self,
        resource: &Resource<T>,
        query: &Query,
        i: usize,
    ) -> Result<Option<String>, Error> {
        let bound = self.bound(i);
        if bound == 0 {
            return Ok(None);
        }
        let ask = query.clone().offset(bound - 1).limit(1);
        let records = resource.list_as::<Value>(&ask).await?.data;
        let id = records.first().and_then(record_id).ok_or_else(|| {
            Error::decode(
                None,
                format!(
                    "consistent partitions need an `id` on every record, and the record at \
                     offset {} has none; use ScanMode::Plain",
                    bound - 1
                ),
                b"",
            )
        })?;
        Ok(Some(id))
    }

    /// Partition `i`, bounded by the ids before it and before the next one (consistent mode).
    fn partition<T>(
        &self,
        resource: &Resource<T>,
        query: &Query,
        mode: ScanMode,
        i: usize,
        id_before: &Option<String>,
        id_before_next: &Option<String>,
    ) -> Partition {
        let last = i + 1 == self.n;
        Partition {
            index: i,
            count: self.n,
            start: Checkpoint {
                version: CHECKPOINT_VERSION,
                resource: resource.name().to_owned(),
                query: query.clone(),
                mode,
                overlap: DEFAULT_OVERLAP,
                offset: self.bound(i),
                last_id: id_before.clone(),
                end_offset: (!last).then_some(self.bound(i + 1)),
                upper_id: if last { None } else { id_before_next.clone() },
                slices: None,
                finished: false,
            },
        }
    }
}

/// Splits the range `[from, to)` into `n` partitions by date (see
/// [`Resource::date_partitions`]).
pub(crate) fn date_partitions<T>(
    resource: &Resource<T>,
    query: Query,
    (from, to): (Timestamp, Timestamp),
    n: usize,
    mode: ScanMode,
) -> Result<Vec<Partition>, Error> {
    if n == 0 {
        return Err(Error::config(
            "a scan cannot be split into 0 partitions: use 1 or more",
        ));
    }
    let start = parse_time("from", from.as_str())?;
    let end = parse_time("to", to.as_str())?;
    if start > end {
        return Err(Error::config(format!(
            "from `{}` is after to `{}`",
            from.as_str(),
            to.as_str()
        )));
    }
    let span = (end - start).whole_nanoseconds();
    let bound = |i: usize| -> String {
        if i == n {
            return format_time(end);
        }
        let part = span * i as i128 / n as i128;
        let offset = time::Duration::nanoseconds(i64::try_from(part).unwrap_or(i64::MAX));
        format_time(start.checked_add(offset).unwrap_or(end))
    };
    let base = query.without_paging_and_range();
    let base = match query.get_limit() {
        Some(limit) => base.limit(limit),
        None => base,
    };
    Ok((0..n)
        .map(|i| Partition {
            index: i,
            count: n,
            start: Checkpoint {
                version: CHECKPOINT_VERSION,
                resource: resource.name().to_owned(),
                query: base.clone(),
                mode,
                overlap: DEFAULT_OVERLAP,
                offset: 0,
                last_id: None,
                end_offset: None,
                upper_id: None,
                slices: Some(Slices {
                    from: Some(bound(i)),
                    until: bound(i + 1),
                    window: None,
                    done: false,
                }),
                finished: false,
            },
        })
        .collect())
}
