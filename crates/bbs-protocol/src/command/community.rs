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
