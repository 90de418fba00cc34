//! Search and subscriptions: what the store keeps for full-text search,
//! keyword subscriptions and the notifications a subscriber missed.
//!
//! The full-text index is not a method of its own: a backend keeps it up to
//! date inside the same transaction as [`crate::Store::create_post`],
//! `edit_post` and `delete_post`, so a search never sees a post that is not
//! stored, nor misses one that is. Likewise `create_post` records, in its
//! own transaction, one missed-notification entry for every subscriber the
//! new post matches (see [`SearchStore::take_missed`]), so no notification
//! is lost between the post's commit and its delivery.

use std::future::Future;

use crate::{PostId, Result, Timestamp};

/// What a subscription follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscriptionKind {
    /// Every post of one board (matching the keyword).
    Board,
    /// Every post by one author (matching the keyword).
    Author,
}

/// One keyword of one subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRow {
    pub kind: SubscriptionKind,
    /// The board's or the author's name.
    pub target: String,
    /// As the subscriber typed it.
    pub keyword: String,
}

/// Outcome of [`SearchStore::subscribe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscribed {
    Added,
    /// The same target with the same keyword (compared without case) is
    /// already there.
    Already,
    /// The subscriber already has the most keywords allowed.
    TooMany,
}

/// One post found by [`SearchStore::search`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    pub id: PostId,
    pub board: String,
    pub title: String,
    pub author: String,
    pub created_at: Timestamp,
}

/// A new post as a notification names it: the post as it was when it was
/// created (a later edit or deletion does not change what was announced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub post: PostId,
    pub board: String,
    pub title: String,
    pub author: String,
}

/// The notifications a subscriber missed while offline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Missed {
    /// How many there were in all.
    pub total: u64,
    /// The latest of them, oldest first (at most [`MISSED_KEPT`]).
    pub latest: Vec<Notice>,
}

/// How many missed notifications are kept per subscriber: older ones are
/// only counted, so a subscriber who never logs in costs bounded space.
pub const MISSED_KEPT: usize = 100;

/// Lower-cases text for keyword matching: a keyword matches a title when
/// the folded keyword is a substring of the folded title. Every backend
/// folds the same way (Unicode lower case, not only ASCII), so `Ü` and `ü`
/// match everywhere.
pub fn fold_case(text: &str) -> String {
    text.to_lowercase()
}

/// Whether `c` belongs to a script written without spaces between words
/// (Chinese, Japanese, Korean). Search finds any two adjacent such
/// characters, so every backend must draw this line in the same place.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Extension A
        | 0x4E00..=0x9FFF    // CJK Unified Ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK Compatibility Ideographs
        | 0x20000..=0x3134F  // CJK Extensions B–G
    )
}

/// Full-text search, subscriptions and missed notifications.
pub trait SearchStore: Send + Sync {
    /// Posts whose title or content contain every one of `words`, newest
    /// first, at most `limit`. A word of letters from Latin-like scripts
    /// matches whole words, case-insensitively; a CJK word of two
    /// characters or more matches wherever those characters stand next to
    /// each other. Words without letters or digits are ignored; if none is
    /// left, nothing is found.
    fn search(&self, words: &[String], limit: usize) -> impl Future<Output = Result<Vec<SearchHit>>> + Send;

    /// Adds a keyword to `user`'s subscription of `target`, unless `user`
    /// already has `max` keywords in all.
    fn subscribe(
        &self,
        user: &str,
        kind: SubscriptionKind,
        target: &str,
        keyword: &str,
        max: usize,
    ) -> impl Future<Output = Result<Subscribed>> + Send;
    /// Removes every keyword of `user`'s subscription of `target`; `false`
    /// if there was none.
    fn unsubscribe(
        &self,
        user: &str,
        kind: SubscriptionKind,
        target: &str,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// `user`'s subscriptions, one row per keyword, in subscription order.
    fn subscriptions(&self, user: &str) -> impl Future<Output = Result<Vec<SubscriptionRow>>> + Send;

    /// Forgets the missed-notification entries of post `post` for `users`:
    /// they were online and saw it live.
    fn delivered(&self, post: PostId, users: Vec<String>) -> impl Future<Output = Result<()>> + Send;
    /// Takes `user`'s missed notifications: returns them and forgets them.
    fn take_missed(&self, user: &str) -> impl Future<Output = Result<Missed>> + Send;
}
