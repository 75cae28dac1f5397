//! Ack bookkeeping: the acks we asked for, and the acks the peer asked for.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::session::SendError;
use crate::socket::AckId;

/// The acks one side asked for on one namespace: ids are allocated in
/// order from 0 (as the official implementations do), each resolves at most
/// once (by the peer's ack or by its deadline), unknown ids are ignored.
///
/// Bounded: at most `max` acks wait at a time; asking for more fails with
/// [`SendError::Full`].
///
/// ```
/// use siospec_codec::session::socket::AckTable;
///
/// let mut acks = AckTable::new(2);
/// let a = acks.allocate(None).unwrap();
/// let b = acks.allocate(None).unwrap();
/// assert_eq!((a, b), (0, 1));
/// assert!(acks.allocate(None).is_err());
/// assert!(acks.resolve(a));
/// assert!(!acks.resolve(a)); // single use
/// assert!(!acks.resolve(7)); // unknown: ignored
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckTable {
    next_id: u64,
    pending: BTreeMap<u64, Option<Instant>>,
    max: usize,
}

impl AckTable {
    /// A table holding at most `max` pending acks.
    pub fn new(max: usize) -> Self {
        AckTable {
            next_id: 0,
            pending: BTreeMap::new(),
            max,
        }
    }

    /// Allocates the next id, optionally with a deadline.
    pub fn allocate(&mut self, deadline: Option<Instant>) -> Result<u64, SendError> {
        if self.pending.len() >= self.max {
            return Err(SendError::Full);
        }
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        self.pending.insert(id, deadline);
        Ok(id)
    }

    /// Resolves `id`: `true` the first time for a pending id, `false` otherwise.
    pub fn resolve(&mut self, id: u64) -> bool {
        self.pending.remove(&id).is_some()
    }

    /// `true` while `id` waits.
    pub fn is_pending(&self, id: u64) -> bool {
        self.pending.contains_key(&id)
    }

    /// Pending acks.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// `true` when no ack waits.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending.values().flatten().min().copied()
    }

    /// Removes and returns the ids whose deadline is at or before `now`, in
    /// deadline order.
    pub fn expire(&mut self, now: Instant) -> Vec<u64> {
        let mut due: Vec<(Instant, u64)> = self
            .pending
            .iter()
            .filter_map(|(&id, &d)| d.filter(|d| *d <= now).map(|d| (d, id)))
            .collect();
        due.sort();
        for (_, id) in &due {
            self.pending.remove(id);
        }
        due.into_iter().map(|(_, id)| id).collect()
    }

    /// Forgets every pending ack except those `keep` selects, returning the
    /// forgotten ids and whether each had a deadline.
    pub fn remove_unless(&mut self, keep: impl Fn(u64) -> bool) -> Vec<(u64, bool)> {
        let gone: Vec<(u64, bool)> = self
            .pending
            .iter()
            .filter(|(id, _)| !keep(**id))
            .map(|(id, d)| (*id, d.is_some()))
            .collect();
        for (id, _) in &gone {
            self.pending.remove(id);
        }
        gone
    }

    /// Forgets every pending ack (the namespace is gone), returning their ids.
    pub fn clear(&mut self) -> Vec<u64> {
        let ids = self.pending.keys().copied().collect();
        self.pending.clear();
        ids
    }
}

/// A totally ordered key for an [`AckId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum AckKey {
    Exact(u64),
    Lossy(u64),
}

fn key(id: AckId) -> AckKey {
    match id {
        AckId::Exact(n) => AckKey::Exact(n),
        AckId::Lossy(f) => AckKey::Lossy(f.to_bits()),
    }
}

/// The acks the peer asked for and we have not sent yet. Each can be sent
/// once. Bounded: beyond `max` outstanding requests, new ones are not
/// recorded (answering them fails with [`SendError::UnknownAck`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Asked {
    ids: BTreeMap<AckKey, AckId>,
    max: usize,
}

impl Asked {
    pub(crate) fn new(max: usize) -> Self {
        Asked {
            ids: BTreeMap::new(),
            max,
        }
    }

    /// Records a request; `false` when the table is full.
    pub(crate) fn record(&mut self, id: AckId) -> bool {
        if self.ids.len() >= self.max {
            return false;
        }
        self.ids.insert(key(id), id);
        true
    }

    /// Takes the request for `id`, once.
    pub(crate) fn take(&mut self, id: AckId) -> Option<AckId> {
        self.ids.remove(&key(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn deadlines_expire_in_order_once() {
        let t0 = Instant::now();
        let mut t = AckTable::new(10);
        let a = t.allocate(Some(t0 + Duration::from_millis(20))).unwrap();
        let b = t.allocate(Some(t0 + Duration::from_millis(10))).unwrap();
        let c = t.allocate(None).unwrap();
        assert_eq!(t.next_deadline(), Some(t0 + Duration::from_millis(10)));
        assert_eq!(t.expire(t0 + Duration::from_millis(30)), vec![b, a]);
        assert!(!t.resolve(a));
        assert!(t.resolve(c));
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn asked_acks_are_single_use_and_bounded() {
        let mut asked = Asked::new(1);
        assert!(asked.record(AckId::Exact(5)));
        assert!(!asked.record(AckId::Exact(6)));
        assert_eq!(asked.take(AckId::Exact(5)), Some(AckId::Exact(5)));
        assert_eq!(asked.take(AckId::Exact(5)), None);
        assert!(asked.record(AckId::Lossy(1e22)));
        assert!(asked.take(AckId::Lossy(1e22)).is_some());
    }
}
