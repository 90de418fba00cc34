//! A bounded cache of hot items in front of the database: posts (with
//! their comments), small boards' post lists, the board list, board
//! numbers and password hashes.
//!
//! Its size is counted in bytes (the strings it holds plus a fixed charge
//! per entry for the map, the `Arc`s and the clock), not in entries, so the
//! memory it takes follows `--cache-mb` whatever the posts look like. When
//! an insertion would go over, entries are evicted by the CLOCK algorithm
//! (second chance): a hit only sets the entry's `referenced` bit, which is
//! an atomic, so hits need only the read lock and never wait for each
//! other; eviction walks a queue of keys, giving referenced entries one
//! more round.
//!
//! What may be in it, and when, is decided by `sqlite.rs` (see its module
//! documentation): the cache holds only values that are durable, writes
//! invalidate the keys they touch after their batch is flushed and before
//! their writers are answered, and a value read from the database is put in
//! only if no batch settled meanwhile.

use std::collections::hash_map::Entry as MapEntry;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bbs_storage::{BoardRow, Post, PostId, PostSummary};

/// Bytes charged per entry beyond its strings: the map slot (at the map's
/// load factor), the key, the `Arc` and the struct it holds (a `Post` is
/// about 200 bytes), the clock queue's copy of the key. Measured: with
/// these charges the server's resident memory after a minute of reads
/// over a million posts stays near the configured size.
const ENTRY_OVERHEAD: usize = 320;

/// Bytes charged per string beyond its length (allocator size classes).
const STRING_OVERHEAD: usize = 16;

/// Bytes charged per element of a list beyond its strings.
const ROW_OVERHEAD: usize = 80;

/// What can be cached, by what it is looked up with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    Post(PostId),
    /// A board's whole post list (only boards with few posts), by the
    /// board's row number.
    Listing(i64),
    /// A board's pinned posts (at most five), by the board's row number:
    /// every `list-post` asks for them.
    Pinned(i64),
    /// A board's row number.
    Board(String),
    /// Every board (while the list is small).
    Boards,
    PasswordHash(String),
}

#[derive(Debug, Clone)]
pub(crate) enum Value {
    Post(Arc<Post>),
    Listing(Arc<Vec<PostSummary>>),
    Board(i64),
    Boards(Arc<Vec<BoardRow>>),
    PasswordHash(Arc<str>),
}

impl Value {
    fn bytes(&self) -> usize {
        match self {
            Value::Post(p) => {
                5 * STRING_OVERHEAD
                    + p.board.len()
                    + p.author.len()
                    + p.title.len()
                    + p.content.len()
                    + p.comments.iter().map(|c| c.author.len() + c.text.len() + ROW_OVERHEAD).sum::<usize>()
            }
            Value::Listing(rows) => rows.iter().map(|r| r.title.len() + r.author.len() + ROW_OVERHEAD).sum(),
            Value::Board(_) => 0,
            Value::Boards(rows) => rows.iter().map(|b| b.name.len() + b.moderator.len() + ROW_OVERHEAD).sum(),
            Value::PasswordHash(h) => STRING_OVERHEAD + h.len(),
        }
    }
}

impl Key {
    fn bytes(&self) -> usize {
        match self {
            Key::Post(_) | Key::Boards | Key::Listing(_) | Key::Pinned(_) => 0,
            Key::Board(s) | Key::PasswordHash(s) => 2 * (STRING_OVERHEAD + s.len()),
        }
    }
}

#[derive(Debug)]
struct Slot {
    value: Value,
    bytes: usize,
    referenced: AtomicBool,
}

#[derive(Debug)]
pub(crate) struct Cache {
    capacity: usize,
    used: usize,
    slots: HashMap<Key, Slot>,
    /// The clock's hand walks from the front; may hold keys of entries
    /// already gone (skipped, and compacted away when they pile up).
    clock: VecDeque<Key>,
}

impl Cache {
    pub(crate) fn new(capacity: usize) -> Cache {
        Cache { capacity, used: 0, slots: HashMap::new(), clock: VecDeque::new() }
    }

    /// The cached value, marking it as recently used.
    pub(crate) fn get(&self, key: &Key) -> Option<Value> {
        let slot = self.slots.get(key)?;
        slot.referenced.store(true, Ordering::Relaxed);
        Some(slot.value.clone())
    }

    /// Whether a value this big is worth caching at all: one entry may take
    /// at most an eighth of the cache, so a huge item cannot flush it.
    pub(crate) fn fits(&self, key: &Key, value: &Value) -> bool {
        Self::charge(key, value) <= self.capacity / 8
    }

    fn charge(key: &Key, value: &Value) -> usize {
        ENTRY_OVERHEAD + key.bytes() + value.bytes()
    }

    /// Puts a value in (replacing any), evicting others to stay in bounds.
    pub(crate) fn insert(&mut self, key: Key, value: Value) {
        let bytes = Self::charge(&key, &value);
        if bytes > self.capacity / 8 {
            self.remove(&key);
            return;
        }
        let slot = Slot { value, bytes, referenced: AtomicBool::new(false) };
        match self.slots.entry(key.clone()) {
            MapEntry::Occupied(mut e) => {
                self.used -= e.get().bytes;
                e.insert(slot);
            }
            MapEntry::Vacant(e) => {
                e.insert(slot);
                self.clock.push_back(key);
            }
        }
        self.used += bytes;
        self.evict();
        if self.clock.len() > 2 * self.slots.len() + 1024 {
            let slots = &self.slots;
            let mut seen = std::collections::HashSet::new();
            self.clock.retain(|k| slots.contains_key(k) && seen.insert(k.clone()));
        }
    }

    /// Forgets a value (a write changed it).
    pub(crate) fn remove(&mut self, key: &Key) {
        if let Some(slot) = self.slots.remove(key) {
            self.used -= slot.bytes;
        }
    }

    fn evict(&mut self) {
        while self.used > self.capacity {
            let Some(key) = self.clock.pop_front() else { break };
            let Some(slot) = self.slots.get(&key) else { continue };
            if slot.referenced.swap(false, Ordering::Relaxed) {
                self.clock.push_back(key);
            } else {
                self.remove(&key);
            }
        }
    }

    /// Bytes charged to the entries held now.
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(n: usize) -> (Key, Value) {
        (Key::PasswordHash(format!("user{n}")), Value::PasswordHash("x".repeat(100).into()))
    }

    /// However many entries go in, the bytes held stay within the bound,
    /// and an entry that keeps being hit survives the churn.
    #[test]
    fn stays_within_its_bytes_and_keeps_hot_entries() {
        let mut cache = Cache::new(64 * 1024);
        let (hot_key, hot_value) = hash(0);
        cache.insert(hot_key.clone(), hot_value);
        for n in 1..100_000 {
            assert!(cache.get(&hot_key).is_some(), "hot entry evicted at {n}");
            let (k, v) = hash(n);
            cache.insert(k, v);
            assert!(cache.used() <= 64 * 1024);
        }
        assert!(cache.clock.len() <= 2 * cache.slots.len() + 1024);
    }

    #[test]
    fn a_huge_value_is_not_cached() {
        let mut cache = Cache::new(8 * 1024);
        let key = Key::PasswordHash("u".into());
        cache.insert(key.clone(), Value::PasswordHash("x".repeat(2000).into()));
        assert!(cache.get(&key).is_none());
        assert_eq!(cache.used(), 0);
    }
}
