//! Running a community, the moderators' side: who moderates a board, bans,
//! board settings, the recycle bin, pins, edit history, the audit log,
//! reports and the sysop's suspensions.
//!
//! Every rule is checked in the same transaction as the write it guards
//! (a ban is looked at in the transaction that inserts the comment, the
//! pin count in the one that pins), so no interleaving of requests gets
//! past one. Nothing expires in the background: a ban, a suspension or a
//! post in the recycle bin is compared with the time of the request that
//! meets it (`at` of [`Acting`]), and what is past is ignored, or purged
//! by the next write that touches the recycle bin.

use std::future::Future;

use crate::{CreatedPost, NewPost, PostEdit, PostId, PostSummary, Result, Timestamp};

/// Moderators a board's owner may add besides themselves.
pub const MAX_ADDED_MODERATORS: usize = 3;

/// Pinned posts a board may have.
pub const MAX_PINNED: usize = 5;

/// Reports one user may make in a day.
pub const MAX_REPORTS_A_DAY: usize = 10;

/// Who does something, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acting {
    pub user: String,
    /// A sysop moderates every board.
    pub sysop: bool,
    pub at: Timestamp,
}

/// Outcome of `add-moderator` / `remove-moderator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeratorChange {
    NoBoard,
    NotOwner,
    NoUser,
    AlreadyModerator,
    TooMany,
    NotModerator,
    /// The owner always moderates their board.
    IsOwner,
    Done,
}

/// A ban to impose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBan {
    pub board: String,
    pub user: String,
    /// When it ends by itself.
    pub until: Timestamp,
    pub reason: String,
}

/// Outcome of `ban` / `unban`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BanChange {
    NoBoard,
    NotModerator,
    NoUser,
    IsModerator,
    AlreadyBanned,
    NotBanned,
    Done,
}

/// A ban in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanRow {
    pub user: String,
    pub until: Timestamp,
    pub by: String,
    pub reason: String,
}

/// One board setting (see `set-board`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoardSetting {
    NoBoo(bool),
    /// Least seconds between two comments of one user on the board.
    PushInterval(i64),
    /// Least account age, in days, to post or comment.
    MinDays(i64),
}

/// Outcome of a moderator's change that needs nothing but the right to
/// moderate the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moderated {
    NoBoard,
    NotModerator,
    Done,
}

/// Why a member's write to a board was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The post or board does not exist.
    Missing,
    Banned,
    /// The account is too young, or the last comment too recent.
    Requirements,
    /// A boo on a board that allows none.
    NoBoos,
}

/// Outcome of `delete-post`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    NoPost,
    NotOwner,
    Pinned,
    Done,
}

/// Outcome of `restore-post`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restoral {
    NotInBin,
    NotModerator,
    Done,
}

/// Outcome of `pin-post` / `unpin-post`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pinning {
    NoPost,
    NotModerator,
    TooMany,
    AlreadyPinned,
    NotPinned,
    Done,
}

/// A post in the recycle bin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecycledRow {
    pub id: PostId,
    pub title: String,
    pub author: String,
    pub deleted_by: String,
    pub deleted_at: Timestamp,
    pub reason: String,
}

/// One revision of a post; the first is the post as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub at: Timestamp,
    pub editor: String,
    pub title: String,
    pub content: String,
}

/// A post's revisions, with who may see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostHistory {
    pub board: String,
    pub author: String,
    pub revisions: Vec<Revision>,
}

/// One row of a board's audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub at: Timestamp,
    pub actor: String,
    /// `ban`, `unban`, `delete`, `restore`, `pin`, `unpin`,
    /// `add-moderator`, `remove-moderator`, `set-board`, `resolve-report`.
    pub action: String,
    pub target: String,
    pub reason: String,
}

/// Outcome of `report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reporting {
    NoPost,
    Banned,
    OwnPost,
    AlreadyReported,
    TooMany,
    Done,
}

/// One report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub id: u64,
    pub post: PostId,
    pub reporter: String,
    pub reason: String,
    /// `open`, `accepted` or `rejected`.
    pub status: String,
}

/// Outcome of `resolve-report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    NoReport,
    NotModerator,
    AlreadyResolved,
    Done,
}

/// A suspension in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suspension {
    pub until: Timestamp,
    pub reason: String,
}

/// Storage of the moderators' side of the community area.
pub trait ModerationStore: Send + Sync {
    /// The owner (or a sysop) adds a moderator: at most
    /// [`MAX_ADDED_MODERATORS`] besides the owner.
    fn add_moderator(
        &self,
        board: &str,
        user: &str,
        by: &Acting,
    ) -> impl Future<Output = Result<ModeratorChange>> + Send;
    /// The owner (or a sysop) removes an added moderator.
    fn remove_moderator(
        &self,
        board: &str,
        user: &str,
        by: &Acting,
    ) -> impl Future<Output = Result<ModeratorChange>> + Send;
    /// Whether `user` moderates `board`; `None` if the board does not exist.
    fn moderates(&self, board: &str, user: &str, sysop: bool) -> impl Future<Output = Result<Option<bool>>> + Send;

    /// Bans a user from a board (a ban that has ended is replaced).
    fn ban(&self, ban: NewBan, by: &Acting) -> impl Future<Output = Result<BanChange>> + Send;
    /// Ends a ban in force.
    fn unban(
        &self,
        board: &str,
        user: &str,
        reason: &str,
        by: &Acting,
    ) -> impl Future<Output = Result<BanChange>> + Send;
    /// The bans in force at `at`, by user name.
    fn bans(&self, board: &str, at: Timestamp) -> impl Future<Output = Result<Vec<BanRow>>> + Send;

    /// Changes one setting of a board.
    fn set_board(
        &self,
        board: &str,
        setting: BoardSetting,
        by: &Acting,
    ) -> impl Future<Output = Result<Moderated>> + Send;

    /// [`crate::Store::create_post`] by a member held to the board's bans
    /// and settings; [`Refusal::Missing`] for a missing board.
    fn create_post_as_member(
        &self,
        post: NewPost,
    ) -> impl Future<Output = Result<std::result::Result<CreatedPost, Refusal>>> + Send;
    /// [`crate::Store::comment`] held to the board's bans and settings;
    /// [`Refusal::Missing`] for a missing post.
    fn comment_as_member(
        &self,
        post: PostId,
        text: &str,
        by: &Acting,
    ) -> impl Future<Output = Result<std::result::Result<(), Refusal>>> + Send;

    /// Moves a post to the recycle bin: its author may, and a moderator of
    /// its board with a reason. Purges what has stayed in the bin longer
    /// than `keep_seconds`.
    fn recycle_post(
        &self,
        post: PostId,
        by: &Acting,
        reason: Option<&str>,
        keep_seconds: i64,
    ) -> impl Future<Output = Result<Removal>> + Send;
    /// Brings a post back from the bin: same S/N, same comments and count.
    fn restore_post(
        &self,
        post: PostId,
        by: &Acting,
        keep_seconds: i64,
    ) -> impl Future<Output = Result<Restoral>> + Send;
    /// The board's posts in the bin younger than `keep_seconds` at `at`,
    /// oldest deletion first; `None` if the board does not exist.
    fn recycled(
        &self,
        board: &str,
        at: Timestamp,
        keep_seconds: i64,
    ) -> impl Future<Output = Result<Option<Vec<RecycledRow>>>> + Send;

    fn pin_post(&self, post: PostId, by: &Acting) -> impl Future<Output = Result<Pinning>> + Send;
    fn unpin_post(&self, post: PostId, by: &Acting) -> impl Future<Output = Result<Pinning>> + Send;
    /// The board's pinned posts in the order they were pinned.
    fn pinned_posts(&self, board: &str) -> impl Future<Output = Result<Vec<PostSummary>>> + Send;

    /// [`crate::Store::edit_post`] that keeps the revision it makes.
    fn edit_post_keeping_history(
        &self,
        post: PostId,
        by: &Acting,
        edit: PostEdit,
    ) -> impl Future<Output = Result<crate::PostChange>> + Send;
    /// Every revision of a post, the first one the post as written.
    fn post_history(&self, post: PostId) -> impl Future<Output = Result<Option<PostHistory>>> + Send;

    /// The latest `rows` rows of a board's audit log, oldest first.
    fn mod_log(&self, board: &str, rows: u64) -> impl Future<Output = Result<Vec<AuditRow>>> + Send;

    /// Files a report (at most [`MAX_REPORTS_A_DAY`] per reporter in the
    /// 24 hours before `by.at`).
    fn report(&self, post: PostId, reason: &str, by: &Acting) -> impl Future<Output = Result<Reporting>> + Send;
    /// The board's reports (open ones only unless `all`), oldest first.
    fn reports(&self, board: &str, all: bool) -> impl Future<Output = Result<Vec<ReportRow>>> + Send;
    fn resolve_report(
        &self,
        report: u64,
        accept: bool,
        note: &str,
        by: &Acting,
    ) -> impl Future<Output = Result<Resolution>> + Send;

    /// Suspends an account until `until`; `false` if no such user.
    fn suspend(
        &self,
        user: &str,
        until: Timestamp,
        reason: &str,
        by: &Acting,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Ends a suspension; `false` if no such user.
    fn unsuspend(&self, user: &str, by: &Acting) -> impl Future<Output = Result<bool>> + Send;
    /// The suspension in force at `at`, if any.
    fn suspension(&self, user: &str, at: Timestamp) -> impl Future<Output = Result<Option<Suspension>>> + Send;
    /// Moves every post of `user` to the recycle bin (pinned ones too:
    /// they are unpinned); how many, `None` if no such user.
    fn purge_user_posts(
        &self,
        user: &str,
        reason: &str,
        by: &Acting,
        keep_seconds: i64,
    ) -> impl Future<Output = Result<Option<u64>>> + Send;
}
