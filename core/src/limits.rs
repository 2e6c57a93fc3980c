//! Rate-limit state: an exact sliding log per key, a bounded number of keys per limit.
//!
//! Guarantee (policy-language.md): for each key, no 60-second window admits more than
//! `calls_per_minute` requests. A request at time t is admitted iff fewer than N requests were
//! admitted for the key in (t - 60 000 ms, t]. Keys are stored as 64-bit SipHash digests of the
//! key text: a collision merges two keys, which can only make a limit stricter, never looser.
//! At the key cap the least recently used key is evicted only if its window is empty; otherwise the
//! new key is refused (rate limited), so the guarantee holds at the cap too.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hash, Hasher};

pub const WINDOW_MS: f64 = 60_000.0;
pub const DEFAULT_MAX_KEYS: usize = 10_000;

/// The keys are already uniformly distributed digests; no second hash.
#[derive(Default)]
pub struct IdHasher(u64);
impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | b as u64;
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Map = HashMap<u64, u32, BuildHasherDefault<IdHasher>>;

const NIL: u32 = u32::MAX;

struct Slot {
    key: u64,
    /// Admission times inside the window, oldest first.
    times: VecDeque<f64>,
    prev: u32,
    next: u32,
}

/// Counters of one limit.
pub struct Window {
    map: Map,
    slots: Vec<Slot>,
    /// Most recently used first.
    head: u32,
    tail: u32,
}

pub fn key_digest(text: &[u8]) -> u64 {
    // DefaultHasher::new() is SipHash-1-3 with fixed keys: deterministic, and no WASI randomness import.
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

#[derive(Debug, PartialEq, Eq)]
pub enum Check {
    Ok,
    Exhausted,
    /// The key is new and every stored key has calls within the window.
    Full,
}

impl Window {
    pub fn new() -> Window {
        Window { map: Map::default(), slots: Vec::new(), head: NIL, tail: NIL }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    fn in_window(times: &VecDeque<f64>, now: f64) -> usize {
        // Times are non-decreasing and never later than now (the engine's clock is monotonic).
        let cutoff = now - WINDOW_MS;
        times.len() - times.iter().take_while(|&&t| t <= cutoff).count()
    }

    pub fn check(&self, key: u64, now: f64, limit: u32, max_keys: usize) -> Check {
        match self.map.get(&key) {
            Some(&s) => match self.slots.get(s as usize) {
                Some(slot) if Self::in_window(&slot.times, now) >= limit as usize => Check::Exhausted,
                _ => Check::Ok,
            },
            None => {
                if self.map.len() < max_keys {
                    return Check::Ok;
                }
                match self.slots.get(self.tail as usize) {
                    Some(lru) if Self::in_window(&lru.times, now) == 0 => Check::Ok,
                    _ => Check::Full,
                }
            }
        }
    }

    /// Records an admitted call. Call only after `check` returned Ok for the same key and time.
    pub fn consume(&mut self, key: u64, now: f64, max_keys: usize) {
        let s = match self.map.get(&key) {
            Some(&s) => {
                self.unlink(s);
                s
            }
            None => {
                if self.map.len() >= max_keys && self.tail != NIL {
                    let t = self.tail;
                    self.unlink(t);
                    if let Some(old) = self.slots.get_mut(t as usize) {
                        let old_key = old.key;
                        old.key = key;
                        old.times.clear();
                        self.map.remove(&old_key);
                    }
                    self.map.insert(key, t);
                    t
                } else {
                    let s = self.slots.len() as u32;
                    self.slots.push(Slot { key, times: VecDeque::new(), prev: NIL, next: NIL });
                    self.map.insert(key, s);
                    s
                }
            }
        };
        if let Some(slot) = self.slots.get_mut(s as usize) {
            let cutoff = now - WINDOW_MS;
            while matches!(slot.times.front(), Some(&t) if t <= cutoff) {
                slot.times.pop_front();
            }
            slot.times.push_back(now);
            if slot.times.capacity() > 4 * slot.times.len() + 16 {
                slot.times.shrink_to_fit();
            }
        }
        self.push_front(s);
    }

    fn unlink(&mut self, s: u32) {
        let (prev, next) = match self.slots.get(s as usize) {
            Some(x) => (x.prev, x.next),
            None => return,
        };
        if let Some(p) = self.slots.get_mut(prev as usize) {
            p.next = next;
        } else {
            self.head = next;
        }
        if let Some(n) = self.slots.get_mut(next as usize) {
            n.prev = prev;
        } else {
            self.tail = prev;
        }
        if let Some(x) = self.slots.get_mut(s as usize) {
            x.prev = NIL;
            x.next = NIL;
        }
    }

    fn push_front(&mut self, s: u32) {
        let old = self.head;
        if let Some(x) = self.slots.get_mut(s as usize) {
            x.prev = NIL;
            x.next = old;
        }
        if let Some(h) = self.slots.get_mut(old as usize) {
            h.prev = s;
        }
        self.head = s;
        if self.tail == NIL {
            self.tail = s;
        }
    }

    /// Approximate heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.map.capacity() * 16 + self.slots.capacity() * std::mem::size_of::<Slot>() + self.slots.iter().map(|s| s.times.capacity() * 8).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window_is_exact() {
        let mut w = Window::new();
        let k = key_digest(b"k");
        for i in 0..3 {
            assert_eq!(w.check(k, 1000.0 + i as f64, 3, 10), Check::Ok);
            w.consume(k, 1000.0 + i as f64, 10);
        }
        assert_eq!(w.check(k, 1003.0, 3, 10), Check::Exhausted);
        assert_eq!(w.check(k, 60_999.0, 3, 10), Check::Exhausted);
        // (t - 60000, t]: the call at 1000 leaves the window at exactly 61000.
        assert_eq!(w.check(k, 61_000.0, 3, 10), Check::Ok);
    }

    #[test]
    fn key_cap_keeps_the_guarantee() {
        let mut w = Window::new();
        for i in 0..3u8 {
            let k = key_digest(&[i]);
            assert_eq!(w.check(k, 0.0, 1, 3), Check::Ok);
            w.consume(k, 0.0, 3);
        }
        let new = key_digest(b"new");
        assert_eq!(w.check(new, 1.0, 1, 3), Check::Full);
        // The oldest key's window empties after 60 s: it is evicted for the new one.
        assert_eq!(w.check(new, 60_000.0, 1, 3), Check::Ok);
        w.consume(new, 60_000.0, 3);
        assert_eq!(w.len(), 3);
        assert_eq!(w.check(key_digest(&[0]), 60_001.0, 1, 3), Check::Ok);
        assert_eq!(w.check(key_digest(&[1]), 59_999.0, 1, 3), Check::Exhausted);
    }
}
