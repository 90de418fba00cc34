//! Storage of the BBS: one trait, [`Store`], that the server is written
//! against, with the rows and outcomes it speaks in. Backends live in their
//! own crates (`bbs-storage-sqlite` today), so this crate depends on no
//! database and the server compiles against the trait alone.
//!
//! The trait speaks in the BBS's own terms (users, boards, posts, comments,
//! the chatroom registry) and answers with outcomes rather than errors for
//! the ordinary "no such board" cases, so that the server's command code
//! reads like the spec. [`StoreError`] is only for real failures (disk,
//! corruption, a closed backend).
//!
//! Every write method returns only after its change is committed durably:
//! the server answers "successfully" only after that.
//!
//! What the trait promises is checked by one suite, [`contract`], that every
//! backend runs against itself with [`store_contract_tests!`].

mod cluster;
mod community;
#[cfg(any(test, feature = "contract"))]
pub mod contract;
mod files;
mod moderation;
mod search;
mod social;
mod ssh_keys;

pub use cluster::{
    Beat, ClusterEvent, ClusterStore, EventAudience, EventFeed, LiveSession, NextEvent, NodeId, SessionChanges,
    SessionRef,
};
pub use community::{CommentKind, CommunityStore, NewVote, Voted, MAX_PUSH_COUNT};
pub use files::{FileRow, FileStore, FileUsage};
pub use moderation::{
    Acting, AuditRow, BanChange, BanRow, BoardSetting, Moderated, ModerationStore, ModeratorChange, NewBan, Pinning,
    PostHistory, RecycledRow, Refusal, Removal, ReportRow, Reporting, Resolution, Restoral, Revision, Suspension,
    MAX_ADDED_MODERATORS, MAX_PINNED, MAX_REPORTS_A_DAY,
};
pub use social::{AccountRow, BalanceChange, LedgerRow, Mail, MailSummary, NewMail, SocialStore, WaitingMessage};
pub use ssh_keys::{AddKey, KeyStore, NewSshKey, SshKeyRow};

use std::future::Future;

pub use search::{
    fold_case, is_cjk, Missed, Notice, SearchHit, SearchStore, Subscribed, SubscriptionKind, SubscriptionRow,
    MISSED_KEPT,
};

/// A post's serial number.
pub type PostId = u64;

/// Unix time in seconds.
pub type Timestamp = i64;

/// A real failure of the backend; the ordinary "no such board" answers are
/// outcomes, not errors.
///
/// It names no database: the server handles every backend's failures the
/// same way (log, answer with an error), so a backend's own error only
/// needs to be carried along for the message and the source chain.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed an operation.
    #[error("database error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A write's transaction could not be committed (or made durable); the
    /// write did not happen, or may not survive a crash.
    #[error("database commit failed: {0}")]
    Commit(String),
    #[error("the storage backend has shut down")]
    Closed,
}

impl StoreError {
    /// Wraps a backend's own error (or a message), for `map_err`.
    pub fn backend(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
        StoreError::Backend(error.into())
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub name: String,
    pub email: String,
    /// A PHC-format password hash; never the password.
    pub password_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardRow {
    /// 1-based, in creation order.
    pub index: u64,
    pub name: String,
    /// Every moderator: the owner first, then those the owner added in
    /// the order added, joined by `/` (just the owner when there are none).
    pub moderator: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPost {
    pub board: String,
    pub author: String,
    pub title: String,
    pub content: String,
    pub created_at: Timestamp,
}

/// A post just stored, and whom it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedPost {
    pub id: PostId,
    /// The distinct subscribers the post matches (never its author), sorted.
    /// Their missed notices were recorded in the post's own transaction;
    /// the server tells those online now. Found in the write, so the
    /// server does not look them up a second time.
    pub subscribers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostSummary {
    pub id: PostId,
    pub title: String,
    pub author: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentRow {
    pub author: String,
    pub text: String,
    /// A plain comment, a push or a boo.
    pub kind: CommentKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    pub id: PostId,
    pub board: String,
    pub author: String,
    pub title: String,
    pub content: String,
    pub created_at: Timestamp,
    /// In the order they were made.
    pub comments: Vec<CommentRow>,
}

/// What an edit of a post changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostEdit {
    Title(String),
    Content(String),
}

/// Outcome of a change to someone's post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostChange {
    Done,
    NoSuchPost,
    NotOwner,
}

/// One row of the chatroom registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatroomRow {
    /// The chatroom's name is its owner's username.
    pub owner: String,
    /// The owner's address as the server saw it.
    pub address: String,
    pub port: u16,
    pub open: bool,
}

/// The posts of one board, page by page, all from one consistent view of
/// the data (later writes do not show), so that a caller can go through
/// them twice (once for the column widths of a table, once to send it)
/// and get the same rows both times. Its methods block: call them off the
/// async workers (`spawn_blocking`). Dropping it releases the view.
pub trait PostPages: Send + 'static {
    /// Up to `max` posts with a serial number greater than `after` (all of
    /// them from the start with `None`), ascending.
    fn next_page(&mut self, after: Option<PostId>, max: usize) -> Result<Vec<PostSummary>>;
}

/// A board's posts, as [`Store::post_listing`] hands them out.
pub enum PostListing {
    /// Few enough to hold at once.
    Whole(Vec<PostSummary>),
    /// Too many to hold: read them in pages.
    Pages(Box<dyn PostPages>),
}

impl std::fmt::Debug for PostListing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PostListing::Whole(posts) => f.debug_tuple("Whole").field(&posts.len()).finish(),
            PostListing::Pages(_) => f.write_str("Pages"),
        }
    }
}

/// Everything the server keeps. Implementations must be cheap to clone
/// (a handle) and safe to use from many connections at once.
pub trait Store:
    ClusterStore
    + CommunityStore
    + ModerationStore
    + KeyStore
    + SocialStore
    + SearchStore
    + FileStore
    + Clone
    + Send
    + Sync
    + 'static
{
    /// Adds a user; `false` if the name is taken (the stored user is then
    /// left as it was).
    fn register(&self, user: NewUser) -> impl Future<Output = Result<bool>> + Send;
    /// The stored password hash of a user, if the user exists.
    fn password_hash(&self, name: &str) -> impl Future<Output = Result<Option<String>>> + Send;
    /// Every user in registration order.
    fn users(&self) -> impl Future<Output = Result<Vec<UserRow>>> + Send;

    /// Adds a board; `false` if the name exists (its moderator is kept).
    fn create_board(&self, name: &str, moderator: &str) -> impl Future<Output = Result<bool>> + Send;
    /// Every board in creation order.
    fn boards(&self) -> impl Future<Output = Result<Vec<BoardRow>>> + Send;

    /// Adds a post; `None` if the board does not exist. Serial numbers are
    /// shared by every board: they start at 1, grow with each post and are
    /// never reused, not even after the newest post is deleted.
    fn create_post(&self, post: NewPost) -> impl Future<Output = Result<Option<PostId>>> + Send;
    /// The posts of a board by ascending serial number; `None` if no such
    /// board.
    fn posts(&self, board: &str) -> impl Future<Output = Result<Option<Vec<PostSummary>>>> + Send;
    /// The posts of a board for sending in pieces: a backend whose boards
    /// can be larger than memory answers big ones with [`PostListing::Pages`].
    /// The default holds them all ([`Store::posts`]).
    fn post_listing(&self, board: &str) -> impl Future<Output = Result<Option<PostListing>>> + Send {
        async move { Ok(self.posts(board).await?.map(PostListing::Whole)) }
    }
    /// One post with its comments; `None` if there is no such post (never
    /// was, or deleted).
    fn post(&self, id: PostId) -> impl Future<Output = Result<Option<Post>>> + Send;
    /// Deletes a post (and its comments) if `by` wrote it. A missing post is
    /// reported before anybody's ownership is looked at.
    fn delete_post(&self, id: PostId, by: &str) -> impl Future<Output = Result<PostChange>> + Send;
    /// Edits a post if `by` wrote it, changing only the edited field; the
    /// same order of checks as [`Store::delete_post`].
    fn edit_post(&self, id: PostId, by: &str, edit: PostEdit) -> impl Future<Output = Result<PostChange>> + Send;
    /// Adds a comment; `false` if no such post. A post keeps its comments
    /// in the order they were made.
    fn comment(&self, id: PostId, author: &str, text: &str, at: Timestamp)
        -> impl Future<Output = Result<bool>> + Send;

    /// Records `owner`'s chatroom as open at `address:port`, creating the
    /// registry row on first use (creation order is kept; opening again
    /// updates the row in place and does not move it).
    fn open_chatroom(&self, owner: &str, address: &str, port: u16) -> impl Future<Output = Result<()>> + Send;
    /// Marks `owner`'s chatroom closed (no-op if it has none: no row is
    /// created).
    fn close_chatroom(&self, owner: &str) -> impl Future<Output = Result<()>> + Send;
    /// Marks every chatroom closed (a reset for tools; the server closes at
    /// start-up only the rooms nobody runs:
    /// [`ClusterStore::close_orphaned_chatrooms`]).
    fn close_all_chatrooms(&self) -> impl Future<Output = Result<()>> + Send;
    /// `owner`'s chatroom, open or closed; `None` if it never had one.
    fn chatroom(&self, owner: &str) -> impl Future<Output = Result<Option<ChatroomRow>>> + Send;
    /// Every chatroom ever created, in creation order.
    fn chatrooms(&self) -> impl Future<Output = Result<Vec<ChatroomRow>>> + Send;
}
