//! Bounded, event-time sliding windows keyed by entity, shared by the stateful detectors.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

use chrono::{DateTime, TimeDelta, Utc};

/// Items seen within `window` of the newest one, oldest first.
#[derive(Debug)]
pub struct Recent<T> {
    items: VecDeque<(DateTime<Utc>, T)>,
    /// Newest time seen (event time may step back a little across sources: never run back).
    pub last_seen: DateTime<Utc>,
    /// When this key last produced a finding.
    pub last_fired: Option<DateTime<Utc>>,
}

impl<T> Recent<T> {
    fn new(ts: DateTime<Utc>) -> Self {
        Self {
            items: VecDeque::new(),
            last_seen: ts,
            last_fired: None,
        }
    }

    /// Add `item` at `ts`, forget what fell out of `window`, keep at most `cap` items.
    pub fn push(&mut self, ts: DateTime<Utc>, item: T, window: TimeDelta, cap: usize) {
        let now = self.last_seen.max(ts);
        self.last_seen = now;
        self.items.push_back((now, item));
        while let Some((t, _)) = self.items.front() {
            if now - *t > window || self.items.len() > cap {
                self.items.pop_front();
            } else {
                break;
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter().map(|(_, i)| i)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Items at or after `since`.
    pub fn count_since(&self, since: DateTime<Utc>) -> usize {
        self.items.iter().filter(|(t, _)| *t >= since).count()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn clear(&mut self) {
        self.items.clear();
    }

    /// Whether the key fired within `quiet` of now (so it should stay silent).
    pub fn recently_fired(&self, quiet: TimeDelta) -> bool {
        self.last_fired.is_some_and(|t| self.last_seen - t <= quiet)
    }
}

/// One [`Recent`] per key, at most `max_keys` keys (stale keys are dropped first).
#[derive(Debug)]
pub struct Keyed<K, T> {
    map: HashMap<K, Recent<T>>,
    max_keys: usize,
    window: TimeDelta,
}

impl<K: Eq + Hash + Clone, T> Keyed<K, T> {
    pub fn new(window: TimeDelta, max_keys: usize) -> Self {
        Self {
            map: HashMap::new(),
            max_keys: max_keys.max(1),
            window,
        }
    }

    pub fn window(&self) -> TimeDelta {
        self.window
    }

    /// The window of `key`, created if needed (making room first).
    pub fn entry(&mut self, key: &K, ts: DateTime<Utc>) -> &mut Recent<T> {
        if !self.map.contains_key(key) && self.map.len() >= self.max_keys {
            let window = self.window;
            self.map.retain(|_, r| ts - r.last_seen <= window);
            if self.map.len() >= self.max_keys
                && let Some(stalest) = self
                    .map
                    .iter()
                    .min_by_key(|(_, r)| r.last_seen)
                    .map(|(k, _)| k.clone())
            {
                self.map.remove(&stalest);
            }
        }
        self.map
            .entry(key.clone())
            .or_insert_with(|| Recent::new(ts))
    }

    pub fn get(&self, key: &K) -> Option<&Recent<T>> {
        self.map.get(key)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Seconds as a [`TimeDelta`].
pub fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).expect("in range")
    }

    #[test]
    fn window_forgets_old_items_and_is_bounded() {
        let mut k: Keyed<u32, u32> = Keyed::new(secs(10), 2);
        for i in 0..20 {
            k.entry(&1, t(i)).push(t(i), i as u32, secs(10), 5);
        }
        let r = k.get(&1).expect("key");
        assert_eq!(r.len(), 5, "cap");
        k.entry(&2, t(30)).push(t(30), 0, secs(10), 5);
        k.entry(&3, t(31)).push(t(31), 0, secs(10), 5);
        assert!(k.len() <= 2, "keys bounded");
        assert!(k.get(&1).is_none(), "the stale key went first");
    }
}
