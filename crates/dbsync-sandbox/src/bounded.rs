//! A map whose entries expire, capped in entries and in bytes: expired entries are swept oldest
//! first, a few per call (bounded work per request), and a full map says when room frees up.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::time::Duration;

use tokio::time::Instant;

/// How many expired entries one call sweeps at most: more than one, so the backlog of expired
/// entries shrinks faster than inserts add to it.
const SWEEP_BUDGET: usize = 32;

/// How many of the oldest entries an eviction looks through for one it may drop (entries it may
/// not drop, such as requests still in flight, can stand first in line: a few more than a
/// sweep's budget keeps one busy stretch from refusing a new entry while older finished ones
/// could go).
const EVICT_SCAN: usize = 4_096;

/// `duration` in whole seconds, rounded up (for `Retry-After` and `expires_in`).
pub(crate) fn whole_secs_up(duration: Duration) -> u64 {
    duration
        .as_secs()
        .saturating_add(u64::from(duration.subsec_nanos() > 0))
}

/// `now + duration`, or a century from now when that cannot be represented.
pub(crate) fn later(now: Instant, duration: Duration) -> Instant {
    now.checked_add(duration)
        .or_else(|| now.checked_add(crate::MAX_DURATION))
        .unwrap_or(now)
}

/// A map is full: nothing expired could be swept to make room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Full {
    /// How long until the oldest entry expires (at least one second).
    pub(crate) retry_after: Duration,
}

impl Full {
    /// Whole seconds, for a `Retry-After` header.
    pub(crate) fn retry_after_secs(&self) -> u64 {
        whole_secs_up(self.retry_after).max(1)
    }
}

#[derive(Debug)]
struct Slot<V> {
    value: V,
    expires_at: Instant,
    seq: u64,
    bytes: usize,
}

/// Entries by key, with their expiry in order.
#[derive(Debug)]
pub(crate) struct Bounded<K, V> {
    entries: HashMap<K, Slot<V>>,
    by_expiry: BTreeMap<(Instant, u64), K>,
    bytes: usize,
    next_seq: u64,
    max_entries: usize,
    max_bytes: usize,
}

impl<K: Hash + Eq + Clone, V> Bounded<K, V> {
    /// An empty map holding at most `max_entries` entries and `max_bytes` bytes.
    pub(crate) fn new(max_entries: usize, max_bytes: usize) -> Self {
        Self {
            entries: HashMap::new(),
            by_expiry: BTreeMap::new(),
            bytes: 0,
            next_seq: 0,
            max_entries,
            max_bytes,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The bytes the entries were inserted with.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The byte cap.
    pub(crate) fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// The entry and when it expires, expired or not (until swept).
    pub(crate) fn get(&self, key: &K) -> Option<(&V, Instant)> {
        self.entries.get(key).map(|s| (&s.value, s.expires_at))
    }

    /// The entry, if it has not expired at `now`.
    pub(crate) fn get_live(&self, key: &K, now: Instant) -> Option<&V> {
        self.entries
            .get(key)
            .filter(|s| now < s.expires_at)
            .map(|s| &s.value)
    }

    /// The entry that expires first.
    pub(crate) fn oldest(&self) -> Option<&V> {
        let key = self.by_expiry.values().next()?;
        self.entries.get(key).map(|s| &s.value)
    }

    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.entries.get_mut(key).map(|s| &mut s.value)
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        let slot = self.entries.remove(key)?;
        self.by_expiry.remove(&(slot.expires_at, slot.seq));
        self.bytes = self.bytes.saturating_sub(slot.bytes);
        Some(slot.value)
    }

    /// Removes up to [`SWEEP_BUDGET`] entries expired at `now`, oldest first, and returns them.
    pub(crate) fn sweep(&mut self, now: Instant) -> Vec<V> {
        self.sweep_where(now, |_| true)
    }

    /// Like [`Bounded::sweep`], but an expired entry is only removed when `pred` accepts it.
    /// Entries in the way count against the budget.
    pub(crate) fn sweep_where(&mut self, now: Instant, pred: impl Fn(&V) -> bool) -> Vec<V> {
        let mut removed = Vec::new();
        let due: Vec<K> = self
            .by_expiry
            .range(..(now, u64::MAX))
            .take(SWEEP_BUDGET)
            .filter(|(_, key)| self.entries.get(*key).is_some_and(|s| pred(&s.value)))
            .map(|(_, key)| key.clone())
            .collect();
        for key in due {
            if let Some(value) = self.remove(&key) {
                removed.push(value);
            }
        }
        removed
    }

    /// Removes the oldest entry `pred` accepts among the first [`EVICT_SCAN`] in expiry order,
    /// expired or not; `false` when there was none.
    pub(crate) fn evict_oldest_where(&mut self, pred: impl Fn(&V) -> bool) -> bool {
        let victim = self
            .by_expiry
            .values()
            .take(EVICT_SCAN)
            .find(|key| self.entries.get(*key).is_some_and(|s| pred(&s.value)))
            .cloned();
        victim.is_some_and(|key| self.remove(&key).is_some())
    }

    /// Whether one more entry of `bytes` fits, replacing `replacing` if given.
    pub(crate) fn fits(&self, bytes: usize, replacing: Option<&K>) -> bool {
        let old = replacing.and_then(|k| self.entries.get(k));
        let entries = self.entries.len() - usize::from(old.is_some());
        let held = self.bytes - old.map_or(0, |s| s.bytes);
        entries < self.max_entries && held.saturating_add(bytes) <= self.max_bytes
    }

    /// `Ok` when one more entry of `bytes` fits; else when the oldest entry expires.
    pub(crate) fn room(&self, bytes: usize, now: Instant) -> Result<(), Full> {
        if self.fits(bytes, None) {
            return Ok(());
        }
        let oldest = self.by_expiry.keys().next().map(|(at, _)| *at);
        let retry_after = oldest.map_or(Duration::ZERO, |at| at.saturating_duration_since(now));
        Err(Full { retry_after })
    }

    /// Inserts (or replaces) an entry, whether it fits or not: callers check [`Bounded::room`]
    /// first, or accept passing the cap by this one entry.
    pub(crate) fn insert(&mut self, key: K, value: V, expires_at: Instant, bytes: usize) {
        self.remove(&key);
        self.next_seq += 1;
        let seq = self.next_seq;
        self.by_expiry.insert((expires_at, seq), key.clone());
        self.bytes = self.bytes.saturating_add(bytes);
        self.entries.insert(
            key,
            Slot {
                value,
                expires_at,
                seq,
                bytes,
            },
        );
    }

    /// Sweeps, then inserts when the entry fits; the swept entries are dropped.
    pub(crate) fn try_insert(
        &mut self,
        key: K,
        value: V,
        expires_at: Instant,
        bytes: usize,
        now: Instant,
    ) -> Result<(), Full> {
        self.sweep(now);
        self.room(bytes, now)?;
        self.insert(key, value, expires_at, bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn expired_entries_make_room_oldest_first() {
        let now = Instant::now();
        let mut map = Bounded::new(3, 100);
        for (key, ttl) in [(1, 10), (2, 20), (3, 30)] {
            map.try_insert(key, (), now + Duration::from_secs(ttl), 10, now)
                .unwrap();
        }
        let full = map
            .try_insert(4, (), now + Duration::from_secs(40), 10, now)
            .unwrap_err();
        assert_eq!(full.retry_after_secs(), 10);
        tokio::time::advance(Duration::from_secs(15)).await;
        let now = Instant::now();
        map.try_insert(4, (), now + Duration::from_secs(40), 10, now)
            .unwrap();
        assert!(map.get(&1).is_none() && map.get(&2).is_some());
        assert_eq!((map.len(), map.bytes()), (3, 30));
    }

    /// Entries it may not drop (say, 100 requests in flight) stand first in line: an eviction
    /// still finds the oldest one it may drop behind them.
    #[tokio::test(start_paused = true)]
    async fn eviction_looks_past_entries_it_may_not_drop() {
        let now = Instant::now();
        let mut map = Bounded::new(1_000, usize::MAX);
        for key in 0..100 {
            map.insert(key, false, now + Duration::from_secs(key), 1);
        }
        map.insert(100, true, now + Duration::from_secs(100), 1);
        map.insert(101, true, now + Duration::from_secs(101), 1);
        assert!(map.evict_oldest_where(|droppable| *droppable));
        assert!(map.get(&100).is_none() && map.get(&101).is_some());
        assert_eq!(map.len(), 101);
    }

    #[tokio::test(start_paused = true)]
    async fn the_byte_cap_counts_and_replacing_frees() {
        let now = Instant::now();
        let far = now + Duration::from_secs(60);
        let mut map = Bounded::new(10, 100);
        map.try_insert("a", 1, far, 60, now).unwrap();
        assert!(map.try_insert("b", 2, far, 50, now).is_err());
        assert!(map.fits(90, Some(&"a")));
        map.insert("a", 3, far, 90);
        assert_eq!((map.len(), map.bytes()), (1, 90));
        assert_eq!(map.remove(&"a"), Some(3));
        assert_eq!(map.bytes(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn one_sweep_does_bounded_work() {
        let now = Instant::now();
        let mut map = Bounded::new(10_000, usize::MAX);
        for key in 0..1000 {
            map.insert(key, (), now + Duration::from_secs(1), 0);
        }
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(map.sweep(Instant::now()).len(), SWEEP_BUDGET);
        assert_eq!(map.len(), 1000 - SWEEP_BUDGET);
        assert!(map.evict_oldest_where(|_| true));
    }
}
