//! Command types of the community area: pushes and boos (推 / 噓).

use super::PostId;

/// `push <post-S/N> <text>`: a comment that adds one to the post's count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushPost {
    pub post: PostId,
    pub text: String,
}

/// `boo <post-S/N> <text>`: a comment that takes one from the post's count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BooPost {
    pub post: PostId,
    pub text: String,
}

/// `add-moderator <board> <user>`: the board's owner adds a moderator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddModerator {
    pub board: String,
    pub user: String,
}

/// `remove-moderator <board> <user>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoveModerator {
    pub board: String,
    pub user: String,
}

/// `ban <board> <user> <days> <reason>`: no posting, commenting, voting or
/// reporting on the board until the ban ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ban {
    pub board: String,
    pub user: String,
    /// 1–3650.
    pub days: i64,
    pub reason: String,
}

/// `unban <board> <user> <reason>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unban {
    pub board: String,
    pub user: String,
    pub reason: String,
}

/// `list-ban <board>`: the bans in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListBan {
    pub board: String,
}

/// One setting `set-board` changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoardSetting {
    /// `--no-boo on|off`.
    NoBoo(bool),
    /// `--push-interval <seconds>`: 0, or 5–240.
    PushInterval(i64),
    /// `--min-days <days>`: the least account age to post.
    MinDays(i64),
}

/// `set-board <board> --no-boo on|off` / `--push-interval <s>` / `--min-days <d>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetBoard {
    pub board: String,
    pub setting: BoardSetting,
}

/// `list-recycle <board>`: the board's deleted posts still restorable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRecycle {
    pub board: String,
}

/// `restore-post <post-S/N>`: back from the recycle bin, same S/N.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestorePost {
    pub post: PostId,
}

/// `pin-post <post-S/N>`: listed first, at most 5 per board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinPost {
    pub post: PostId,
}

/// `unpin-post <post-S/N>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpinPost {
    pub post: PostId,
}

/// `post-history <post-S/N>`: every revision of a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostHistory {
    pub post: PostId,
}

/// `mod-log <board> [<n>]`: the latest rows of the board's audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModLog {
    pub board: String,
    pub rows: u64,
}

/// `report <post-S/N> <reason>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub post: PostId,
    pub reason: String,
}

/// `list-report <board> [--all]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListReport {
    pub board: String,
    pub all: bool,
}

/// `resolve-report <id> accept|reject [<note>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveReport {
    pub report: u64,
    pub accept: bool,
    pub note: String,
}

/// `suspend <user> <days> <reason>` (sysops only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suspend {
    pub user: String,
    pub days: i64,
    pub reason: String,
}

/// `unsuspend <user>` (sysops only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsuspend {
    pub user: String,
}

/// `purge-user-posts <user> <reason>` (sysops only): every post of the
/// user into the recycle bin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeUserPosts {
    pub user: String,
    pub reason: String,
}

/// Longest ban or suspension, in days (ten years).
pub const MAX_DAYS: i64 = 3650;

/// `on` / `off`.
pub(super) fn on_off(word: &str) -> Option<bool> {
    match word {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    }
}

/// A number of days a ban or suspension lasts: 1–[`MAX_DAYS`].
pub(super) fn days(word: &str) -> Option<i64> {
    let days = small_number(word)?;
    (1..=MAX_DAYS).contains(&days).then_some(days)
}

/// Digits only, at most six of them.
pub(super) fn small_number(word: &str) -> Option<i64> {
    (word.len() <= 6 && !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit())).then(|| word.parse().ok())?
}

/// The setting of a `set-board` line after the board's name.
pub(super) fn board_setting(words: &[&str]) -> Option<BoardSetting> {
    match words {
        ["--no-boo", value] => on_off(value).map(BoardSetting::NoBoo),
        ["--push-interval", value] => {
            let seconds = small_number(value)?;
            (seconds == 0 || (5..=240).contains(&seconds)).then_some(BoardSetting::PushInterval(seconds))
        }
        ["--min-days", value] => {
            let days = small_number(value)?;
            (days <= MAX_DAYS).then_some(BoardSetting::MinDays(days))
        }
        _ => None,
    }
}
