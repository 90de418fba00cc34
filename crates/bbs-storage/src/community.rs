//! Running a community: pushes and boos with a post's count (推 / 噓).
//!
//! Every rule a reaction is subject to (the post exists, the author's own
//! vote and a vote soon after the previous one count as plain comments,
//! the count stays within its bounds) is checked in the same transaction
//! as the write it guards, so concurrent voters cannot slip past them.

use std::future::Future;

use crate::{PostId, Result, Timestamp};

/// Highest and lowest count a post keeps (PTT's 爆 and XX).
pub const MAX_PUSH_COUNT: i64 = 100;

/// What kind of comment a row is; a plain comment leaves the count alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CommentKind {
    /// → : a plain comment.
    #[default]
    Comment,
    /// 推 : adds one to the post's count.
    Push,
    /// 噓 : takes one from the post's count.
    Boo,
}

impl CommentKind {
    /// The value kept in the database.
    pub fn code(self) -> i64 {
        match self {
            CommentKind::Comment => 0,
            CommentKind::Push => 1,
            CommentKind::Boo => 2,
        }
    }

    /// The kind of a stored value (anything unknown is a plain comment).
    pub fn from_code(code: i64) -> CommentKind {
        match code {
            1 => CommentKind::Push,
            2 => CommentKind::Boo,
            _ => CommentKind::Comment,
        }
    }
}

/// A push or a boo to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVote {
    pub post: PostId,
    pub voter: String,
    /// [`CommentKind::Push`] or [`CommentKind::Boo`].
    pub kind: CommentKind,
    pub text: String,
    pub at: Timestamp,
    /// Least seconds between two votes of one non-moderator on one post;
    /// a vote sooner than that is kept as a plain comment.
    pub vote_interval: i64,
    /// Users who moderate every board (the sysops): they are not held to
    /// the interval, like the board's owner.
    pub sysops: Vec<String>,
}

/// What recording a vote did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Voted {
    /// The post does not exist.
    NoPost,
    /// Kept as a vote of this kind; the post's count is now this.
    Counted(CommentKind, i64),
    /// Kept as a plain comment: the author's own vote, or one too soon
    /// after the voter's previous vote on the post.
    AsComment,
    /// Not kept: the voter is banned from the board, falls short of its
    /// requirements, or boos where boos are not allowed.
    Refused(crate::Refusal),
}

/// Storage of the community area.
pub trait CommunityStore: Send + Sync {
    /// Records a push or boo, or a plain comment when the rules say so, and
    /// moves the post's count (kept within ±[`MAX_PUSH_COUNT`]), all in one
    /// transaction.
    fn vote(&self, vote: NewVote) -> impl Future<Output = Result<Voted>> + Send;
    /// The count of a post, `None` if it does not exist.
    fn push_count(&self, post: PostId) -> impl Future<Output = Result<Option<i64>>> + Send;
    /// The counts of a board's posts by S/N, in S/N order; `None` if the
    /// board does not exist.
    fn push_counts(&self, board: &str) -> impl Future<Output = Result<Option<Vec<(PostId, i64)>>>> + Send;
}
