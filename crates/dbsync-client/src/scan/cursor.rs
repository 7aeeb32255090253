//! Where a scan is, what to ask for next, and what to keep of each page: pure, without I/O.
//!
//! A plain cursor trusts offsets. A consistent cursor asks each page with an overlap of records
//! it has already accepted and keeps only the records whose id is above the last id accepted.
//! A page whose first id is above that last id (or an empty page) cannot prove that nothing
//! between them was skipped, so the cursor steps back (by twice the overlap, then doubling)
//! and asks again. Ids only grow and lists are ordered by id, so the last accepted id is the
//! whole dedup state: every id at or below it has been yielded.

use std::cmp::Ordering;

use crate::error::Error;
use crate::page::Meta;

use super::id::compare_ids;
use super::options::ScanMode;

/// How many pages in a row may bring no new record before a consistent scan gives up.
pub(crate) const MAX_IDLE_PAGES: u32 = 3;

/// The error of a server whose paging cannot be trusted: the scan stops there (its checkpoint
/// is still good).
fn server_fault(what: String) -> Error {
    Error::decode(
        None,
        format!(
            "{what}; the scan stops here so as not to loop or yield duplicates (a server fault: \
             resume from the scan's checkpoint once the server is fixed)"
        ),
        b"",
    )
}

/// A page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ask {
    pub(crate) offset: u64,
    pub(crate) limit: u32,
}

/// What to do with an answered page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Yield records `skip..skip + take` of the page. `restart` drops the pages in flight
    /// (they were planned on a page size or offsets that turned out wrong).
    Take {
        skip: usize,
        take: usize,
        restart: bool,
    },
    /// The page cannot be trusted: drop it and the pages in flight, and ask again.
    Refetch,
}

/// The state of one scan (one slice of an incremental scan).
#[derive(Debug, Clone)]
pub(crate) struct Cursor {
    pub(crate) mode: ScanMode,
    pub(crate) overlap: u32,
    pub(crate) limit: u32,
    /// The offset of the next page to ask for.
    pub(crate) frontier: u64,
    /// No record at or past this offset belongs to the scan (plain), or a hint of where the
    /// scan ends (consistent).
    pub(crate) end: Option<u64>,
    /// No record with an id above this one belongs to the scan (consistent partitions).
    pub(crate) upper_id: Option<String>,
    /// The last id accepted (consistent: every id at or below it is done).
    pub(crate) last_id: Option<String>,
    pub(crate) total: Option<u64>,
    pub(crate) first_total: Option<u64>,
    pub(crate) total_moved: bool,
    /// How far the last step back went (0: no step back pending).
    back: u64,
    /// The offset and signature of the last non-empty page accepted (see [`Cursor::accept`]).
    last_page: Option<(u64, u64)>,
    /// How many pages in a row brought no new record (consistent mode).
    idle_pages: u32,
    /// Every page the scan needs has been accepted.
    pub(crate) done: bool,
}

impl Cursor {
    pub(crate) fn new(mode: ScanMode, overlap: u32, limit: u32, offset: u64) -> Self {
        let limit = limit.max(1);
        Self {
            mode,
            // At most half a page, so every page brings new records.
            overlap: overlap.min(limit / 2),
            limit,
            frontier: offset,
            end: None,
            upper_id: None,
            last_id: None,
            total: None,
            first_total: None,
            total_moved: false,
            back: 0,
            last_page: None,
            idle_pages: 0,
            done: false,
        }
    }

    /// Positions a consistent cursor to continue after `last_id`, whose record was near
    /// `offset` (the first page reaches back by the overlap to find it).
    pub(crate) fn continue_after(&mut self, offset: u64, last_id: Option<String>) {
        self.frontier = offset;
        if self.mode == ScanMode::Consistent && last_id.is_some() {
            self.frontier = offset.saturating_sub(u64::from(self.overlap));
        }
        self.last_id = last_id;
    }

    /// How far apart consecutive planned pages start.
    fn stride(&self) -> u64 {
        match self.mode {
            ScanMode::Plain => u64::from(self.limit),
            _ => u64::from(self.limit - self.overlap),
        }
    }

    /// The next page to ask for, given how many are in flight and the pipeline depth.
    pub(crate) fn plan(&mut self, in_flight: usize, depth: usize) -> Option<Ask> {
        if self.done {
            return None;
        }
        if in_flight > 0 {
            // Speculate only once the total is known, never past it (nor past the end).
            let bound = match (self.total, self.end) {
                (Some(total), Some(end)) => total.min(end),
                (Some(total), None) => total,
                _ => return None,
            };
            if in_flight >= depth || self.frontier >= bound {
                return None;
            }
        } else if self.mode == ScanMode::Plain && self.end.is_some_and(|end| self.frontier >= end) {
            self.done = true;
            return None;
        }
        let mut limit = self.limit;
        if self.mode == ScanMode::Plain
            && let Some(end) = self.end
        {
            let left = end.saturating_sub(self.frontier);
            limit = u32::try_from(left).unwrap_or(u32::MAX).clamp(1, self.limit);
        }
        let ask = Ask {
            offset: self.frontier,
            limit,
        };
        // Saturating: an offset near u64::MAX (from a hand-made checkpoint) must not panic.
        self.frontier = self.frontier.saturating_add(match self.mode {
            ScanMode::Plain => u64::from(limit),
            _ => self.stride(),
        });
        Some(ask)
    }

    /// Judges the answer to `ask`: `ids` are the ids of the page's records in order (only read
    /// in consistent mode), `meta` its metadata, `signature` a digest of its records (see
    /// `fetch::signature`).
    ///
    /// A server that does not move on is an error, not an endless scan: the same records as the
    /// last page at another offset, or (in consistent mode, where ids are known)
    /// [`MAX_IDLE_PAGES`] pages in a row with no record past the last one accepted. (A page with
    /// more records than asked for never gets here: `Resource::fetch_page` refuses it.)
    pub(crate) fn accept(
        &mut self,
        ask: Ask,
        ids: &[Option<String>],
        meta: Option<Meta>,
        signature: u64,
    ) -> Result<Verdict, Error> {
        let returned = ids.len() as u64;
        if returned > 0 {
            if let Some((offset, last)) = self.last_page
                && last == signature
                && offset != ask.offset
            {
                return Err(server_fault(format!(
                    "the server answered the same records at offset {} as at offset {offset}: \
                     its pages do not move on",
                    ask.offset
                )));
            }
            self.last_page = Some((ask.offset, signature));
        }
        let page_total = meta.and_then(|m| m.total);
        if let Some(total) = page_total {
            match self.first_total {
                None => self.first_total = Some(total),
                Some(first) if first != total && !self.total_moved => {
                    self.total_moved = true;
                    tracing::debug!(first, now = total, "dbsync scan: meta.total moved");
                }
                _ => {}
            }
            self.total = Some(total);
        }
        // A server that caps the page size below what was asked (and says so): adopt its size
        // and re-plan from the end of this page.
        let server_limit = meta
            .and_then(|m| m.limit)
            .filter(|l| *l > 0 && *l < u64::from(ask.limit));
        let capped = server_limit.is_some_and(|l| returned == l);
        if capped && let Some(l) = server_limit {
            self.limit = u32::try_from(l).unwrap_or(self.limit);
            self.overlap = self.overlap.min(self.limit / 2);
        }
        let short = !capped && returned < u64::from(ask.limit);
        let page_end = ask.offset.saturating_add(returned);
        let reaches_total = page_total.is_some_and(|t| page_end >= t);
        match self.mode {
            ScanMode::Plain => {
                let reaches_end = self.end.is_some_and(|e| page_end >= e);
                self.done = returned == 0 || short || reaches_total || reaches_end;
                if capped {
                    self.frontier = page_end;
                }
                Ok(Verdict::Take {
                    skip: 0,
                    take: ids.len(),
                    restart: capped || self.done,
                })
            }
            _ => {
                let verdict = self.accept_consistent(ask, ids, capped, short || reaches_total)?;
                if let Verdict::Take { take: 0, .. } = verdict
                    && !self.done
                {
                    self.idle_pages += 1;
                    if self.idle_pages >= MAX_IDLE_PAGES {
                        return Err(server_fault(format!(
                            "{MAX_IDLE_PAGES} pages in a row (the last at offset {}) brought no \
                             record past id {}: the server's pages do not move on",
                            ask.offset,
                            self.last_id.as_deref().unwrap_or("(none)")
                        )));
                    }
                } else if matches!(verdict, Verdict::Take { .. }) {
                    self.idle_pages = 0;
                }
                Ok(verdict)
            }
        }
    }

    fn accept_consistent(
        &mut self,
        ask: Ask,
        ids: &[Option<String>],
        capped: bool,
        last_page: bool,
    ) -> Result<Verdict, Error> {
        let mut previous: Option<&str> = None;
        for id in ids {
            let Some(id) = id.as_deref() else {
                return Err(Error::decode(
                    None,
                    "a consistent scan needs an `id` on every record, and a record of the page \
                     has none; use ScanMode::Plain for this resource",
                    b"",
                ));
            };
            if previous.is_some_and(|p| compare_ids(p, id) != Ordering::Less) {
                return Err(Error::decode(
                    None,
                    format!(
                        "a consistent scan needs the list ordered by id ascending, but id \
                         {id} follows {}; use ScanMode::Plain for this resource",
                        previous.unwrap_or_default()
                    ),
                    b"",
                ));
            }
            previous = Some(id);
        }
        let first = ids.first().and_then(Option::as_deref);
        let anchored = match (&self.last_id, first) {
            (None, _) => true,
            (Some(_), _) if ask.offset == 0 => true,
            (Some(last), Some(first)) => compare_ids(first, last) != Ordering::Greater,
            (Some(_), None) => false,
        };
        if !anchored {
            self.back = if self.back == 0 {
                (2 * u64::from(self.overlap)).max(1)
            } else {
                self.back.saturating_mul(2)
            };
            self.frontier = ask.offset.saturating_sub(self.back);
            tracing::debug!(
                offset = ask.offset,
                back_to = self.frontier,
                "dbsync consistent scan: records shifted, stepping back"
            );
            return Ok(Verdict::Refetch);
        }
        self.back = 0;
        let skip = match &self.last_id {
            None => 0,
            Some(last) => ids
                .iter()
                .take_while(|id| {
                    id.as_deref()
                        .is_some_and(|id| compare_ids(id, last) != Ordering::Greater)
                })
                .count(),
        };
        let mut take = ids.len() - skip;
        let mut past_upper = false;
        if let Some(upper) = &self.upper_id {
            let within = ids
                .iter()
                .skip(skip)
                .take_while(|id| {
                    id.as_deref()
                        .is_some_and(|id| compare_ids(id, upper) != Ordering::Greater)
                })
                .count();
            past_upper = within < take;
            take = within;
        }
        if take > 0
            && let Some(Some(last)) = ids.get(skip + take - 1)
        {
            self.last_id = Some(last.clone());
        }
        let returned = ids.len() as u64;
        self.done = returned == 0 || last_page || past_upper;
        if capped {
            let step = u64::from(self.overlap).min(returned);
            self.frontier = ask.offset.saturating_add(returned - step);
        }
        Ok(Verdict::Take {
            skip,
            take,
            restart: capped || self.done,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accepts a page whose signature is made of its ids (distinct pages, distinct signatures).
    fn accept(
        c: &mut Cursor,
        ask: Ask,
        ids: &[Option<String>],
        meta: Option<Meta>,
    ) -> Result<Verdict, Error> {
        use std::hash::{Hash as _, Hasher as _};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        ids.hash(&mut hasher);
        c.accept(ask, ids, meta, hasher.finish())
    }

    fn ids(range: std::ops::RangeInclusive<u64>) -> Vec<Option<String>> {
        range.map(|i| Some(i.to_string())).collect()
    }

    fn meta(total: u64) -> Option<Meta> {
        Some(Meta {
            limit: None,
            offset: None,
            total: Some(total),
        })
    }

    #[test]
    fn a_plain_cursor_plans_one_page_until_the_total_is_known_then_the_depth() {
        let mut c = Cursor::new(ScanMode::Plain, 0, 10, 0);
        assert_eq!(
            c.plan(0, 4),
            Some(Ask {
                offset: 0,
                limit: 10
            })
        );
        assert_eq!(
            c.plan(1, 4),
            None,
            "no speculation before the total is known"
        );
        let v = accept(
            &mut c,
            Ask {
                offset: 0,
                limit: 10,
            },
            &ids(1..=10),
            meta(35),
        )
        .unwrap();
        assert_eq!(
            v,
            Verdict::Take {
                skip: 0,
                take: 10,
                restart: false
            }
        );
        let planned: Vec<u64> = std::iter::from_fn(|| c.plan(1, 4))
            .map(|a| a.offset)
            .collect();
        assert_eq!(planned, [10, 20, 30], "never past the total");
    }

    #[test]
    fn a_plain_cursor_stops_on_a_short_page_or_at_the_end_bound() {
        let mut c = Cursor::new(ScanMode::Plain, 0, 10, 0);
        c.plan(0, 0);
        accept(
            &mut c,
            Ask {
                offset: 0,
                limit: 10,
            },
            &ids(1..=4),
            None,
        )
        .unwrap();
        assert!(c.done);
        let mut c = Cursor::new(ScanMode::Plain, 0, 10, 5);
        c.end = Some(12);
        assert_eq!(
            c.plan(0, 0),
            Some(Ask {
                offset: 5,
                limit: 7
            })
        );
        accept(
            &mut c,
            Ask {
                offset: 5,
                limit: 7,
            },
            &ids(6..=12),
            meta(100),
        )
        .unwrap();
        assert!(c.done);
    }

    #[test]
    fn an_offset_at_the_end_of_the_number_range_does_not_overflow() {
        for mode in [ScanMode::Plain, ScanMode::Consistent] {
            let mut c = Cursor::new(mode, 2, 10, u64::MAX - 3);
            let ask = c.plan(0, 4).unwrap();
            let total = Some(Meta {
                limit: Some(10),
                offset: Some(ask.offset),
                total: Some(u64::MAX),
            });
            assert!(accept(&mut c, ask, &ids(1..=10), total).is_ok(), "{mode:?}");
            let _ = c.plan(0, 4);
        }
    }

    #[test]
    fn a_capped_page_size_is_adopted() {
        let mut c = Cursor::new(ScanMode::Plain, 0, 100, 0);
        let ask = c.plan(0, 4).unwrap();
        let capped = Some(Meta {
            limit: Some(50),
            offset: Some(0),
            total: Some(120),
        });
        let v = accept(&mut c, ask, &ids(1..=50), capped).unwrap();
        assert_eq!(
            v,
            Verdict::Take {
                skip: 0,
                take: 50,
                restart: true
            }
        );
        assert!(!c.done);
        assert_eq!(
            c.plan(0, 4),
            Some(Ask {
                offset: 50,
                limit: 50
            })
        );
    }

    #[test]
    fn a_consistent_cursor_overlaps_and_drops_what_it_has_yielded() {
        let mut c = Cursor::new(ScanMode::Consistent, 2, 10, 0);
        let a = c.plan(0, 4).unwrap();
        accept(&mut c, a, &ids(1..=10), meta(30)).unwrap();
        assert_eq!(c.last_id.as_deref(), Some("10"));
        let b = c.plan(0, 4).unwrap();
        assert_eq!(
            b,
            Ask {
                offset: 8,
                limit: 10
            }
        );
        // No change: the page starts at id 9, two already yielded.
        let v = accept(&mut c, b, &ids(9..=18), meta(30)).unwrap();
        assert_eq!(
            v,
            Verdict::Take {
                skip: 2,
                take: 8,
                restart: false
            }
        );
    }

    #[test]
    fn a_consistent_cursor_steps_back_when_records_shifted_past_the_overlap() {
        let mut c = Cursor::new(ScanMode::Consistent, 2, 10, 0);
        let a = c.plan(0, 0).unwrap();
        accept(&mut c, a, &ids(1..=10), meta(100)).unwrap();
        let b = c.plan(0, 0).unwrap();
        // Five records at or before id 10 were deleted: offset 8 now starts at id 14.
        assert_eq!(
            accept(&mut c, b, &ids(14..=23), meta(95)).unwrap(),
            Verdict::Refetch
        );
        let again = c.plan(0, 0).unwrap();
        assert_eq!(again.offset, 4);
        let v = accept(&mut c, again, &ids(8..=17), meta(95)).unwrap();
        assert_eq!(
            v,
            Verdict::Take {
                skip: 3,
                take: 7,
                restart: false
            }
        );
        assert_eq!(c.last_id.as_deref(), Some("17"));
    }

    #[test]
    fn a_consistent_cursor_stops_past_its_upper_id_and_refuses_unordered_pages() {
        let mut c = Cursor::new(ScanMode::Consistent, 2, 10, 0);
        c.upper_id = Some("5".into());
        let a = c.plan(0, 0).unwrap();
        let v = accept(&mut c, a, &ids(1..=10), meta(100)).unwrap();
        assert_eq!(
            v,
            Verdict::Take {
                skip: 0,
                take: 5,
                restart: true
            }
        );
        assert!(c.done);
        let mut c = Cursor::new(ScanMode::Consistent, 2, 10, 0);
        let a = c.plan(0, 0).unwrap();
        let unordered = vec![Some("2".to_string()), Some("1".to_string())];
        assert!(accept(&mut c, a, &unordered, None).is_err());
        let a = c.plan(0, 0).unwrap();
        assert!(accept(&mut c, a, &[None], None).is_err());
    }

    #[test]
    fn the_same_page_at_another_offset_is_a_server_fault() {
        let mut c = Cursor::new(ScanMode::Plain, 0, 10, 0);
        let first = c.plan(0, 0).unwrap();
        c.accept(first, &ids(1..=10), None, 7).unwrap();
        let second = c.plan(0, 0).unwrap();
        assert_eq!(second.offset, 10);
        let err = c.accept(second, &ids(1..=10), None, 7).unwrap_err();
        assert!(
            err.to_string()
                .contains("same records at offset 10 as at offset 0"),
            "{err}"
        );
        // The same offset asked again (a refetch) is not a repeat.
        let mut c = Cursor::new(ScanMode::Plain, 0, 10, 0);
        let first = c.plan(0, 0).unwrap();
        c.accept(first, &ids(1..=10), None, 7).unwrap();
        assert!(c.accept(first, &ids(1..=10), None, 7).is_ok());
    }

    #[test]
    fn a_consistent_scan_that_gets_no_new_record_for_several_pages_stops() {
        let mut c = Cursor::new(ScanMode::Consistent, 0, 10, 0);
        let first = c.plan(0, 0).unwrap();
        accept(&mut c, first, &ids(1..=10), None).unwrap();
        // The server answers ids 1..=10 at every offset, each time with another signature
        // (say a changing field): no id moves past 10.
        let mut result = Ok(Verdict::Refetch);
        for signature in 0..u64::from(MAX_IDLE_PAGES) {
            let ask = c.plan(0, 0).unwrap();
            result = c.accept(ask, &ids(1..=10), None, 100 + signature);
            if result.is_err() {
                break;
            }
        }
        let err = result.unwrap_err();
        assert!(
            err.to_string().contains("brought no record past id 10"),
            "{err}"
        );
    }
}
