//! Which boards got a post, for screens that list boards and posts: a
//! full-screen session showing a list redraws it when a post arrives, and
//! the board list marks boards with posts newer than the session.
//!
//! One `watch` channel carries the latest post: every session waits on it
//! without a queue of its own, so a burst of posts wakes each session
//! once, and a session that is slow to look sees only the newest (it then
//! reloads what it shows, which covers every post before it too).

use std::collections::HashMap;
use std::sync::Mutex;

use bbs_storage::{PostId, Timestamp};
use tokio::sync::watch;

/// The newest post of a board, as far as this process has seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NewPost {
    pub(crate) board: String,
    pub(crate) id: PostId,
    pub(crate) author: String,
    pub(crate) created_at: Timestamp,
}

/// Posts created since the server started, by board.
#[derive(Debug)]
pub(crate) struct PostActivity {
    latest: watch::Sender<NewPost>,
    /// Board name → its newest post.
    boards: Mutex<HashMap<String, NewPost>>,
}

impl Default for PostActivity {
    fn default() -> PostActivity {
        PostActivity { latest: watch::Sender::new(NewPost::default()), boards: Mutex::default() }
    }
}

impl PostActivity {
    /// A post was created (called after it is committed).
    pub(crate) fn post_created(&self, board: &str, id: PostId, author: &str, created_at: Timestamp) {
        let post = NewPost { board: board.to_owned(), id, author: author.to_owned(), created_at };
        self.boards.lock().expect("activity lock").insert(board.to_owned(), post.clone());
        self.latest.send_replace(post);
    }

    /// Waits on this for the next post.
    pub(crate) fn subscribe(&self) -> watch::Receiver<NewPost> {
        self.latest.subscribe()
    }

    /// The newest post of `board` since the server started.
    pub(crate) fn latest(&self, board: &str) -> Option<NewPost> {
        self.boards.lock().expect("activity lock").get(board).cloned()
    }
}
