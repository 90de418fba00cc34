//! The in-memory view of users, boards, posts and comments that
//! [`crate::SqliteStore`] answers reads from.
//!
//! It is loaded from the database when the store opens and changed only by
//! the writer thread, right after a batch's COMMIT succeeded and before any
//! of its writers is answered. So a read never sees a write that could
//! still be lost, a writer that got its answer sees its write in every
//! later read, and reads cost a lock and a copy instead of a trip to the
//! blocking pool and SQLite. Each board keeps its own list of post serial
//! numbers, so listing a board never looks at the posts of other boards.

use std::collections::HashMap;

use rusqlite::Connection;

use bbs_storage::{BoardRow, CommentRow, Post, PostId, PostSummary, Timestamp, UserRow};

#[derive(Debug, Default)]
pub(crate) struct Cache {
    users: Vec<UserRow>,
    password_hashes: HashMap<String, String>,
    /// In creation order; a board's index is its position plus one.
    boards: Vec<CachedBoard>,
    board_by_name: HashMap<String, usize>,
    posts: HashMap<PostId, CachedPost>,
}

#[derive(Debug)]
struct CachedBoard {
    name: String,
    moderator: String,
    /// Serial numbers, ascending (new posts always get a larger one).
    posts: Vec<PostId>,
}

#[derive(Debug)]
struct CachedPost {
    board: usize,
    author: String,
    title: String,
    content: String,
    created_at: Timestamp,
    comments: Vec<CommentRow>,
}

impl Cache {
    /// Reads everything the cache holds from the database.
    pub(crate) fn load(conn: &Connection) -> rusqlite::Result<Cache> {
        let mut cache = Cache::default();
        let mut users = conn.prepare("SELECT name, email, password_hash FROM users ORDER BY id")?;
        let mut rows = users.query([])?;
        while let Some(r) = rows.next()? {
            cache.add_user(r.get(0)?, r.get(1)?, r.get(2)?);
        }
        let mut board_ids = HashMap::new();
        let mut boards = conn.prepare("SELECT id, name, moderator FROM boards ORDER BY id")?;
        let mut rows = boards.query([])?;
        while let Some(r) = rows.next()? {
            board_ids.insert(r.get::<_, i64>(0)?, cache.boards.len());
            cache.add_board(r.get(1)?, r.get(2)?);
        }
        let mut posts =
            conn.prepare("SELECT id, board_id, author, title, content, created_at FROM posts ORDER BY id")?;
        let mut rows = posts.query([])?;
        while let Some(r) = rows.next()? {
            let id: PostId = r.get(0)?;
            let Some(&board) = board_ids.get(&r.get::<_, i64>(1)?) else {
                continue;
            };
            cache.boards[board].posts.push(id);
            cache.posts.insert(
                id,
                CachedPost {
                    board,
                    author: r.get(2)?,
                    title: r.get(3)?,
                    content: r.get(4)?,
                    created_at: r.get(5)?,
                    comments: Vec::new(),
                },
            );
        }
        let mut comments = conn.prepare("SELECT post_id, author, text FROM comments ORDER BY id")?;
        let mut rows = comments.query([])?;
        while let Some(r) = rows.next()? {
            if let Some(post) = cache.posts.get_mut(&r.get::<_, PostId>(0)?) {
                post.comments.push(CommentRow { author: r.get(1)?, text: r.get(2)? });
            }
        }
        Ok(cache)
    }

    pub(crate) fn add_user(&mut self, name: String, email: String, password_hash: String) {
        self.password_hashes.insert(name.clone(), password_hash);
        self.users.push(UserRow { name, email });
    }

    pub(crate) fn password_hash(&self, name: &str) -> Option<String> {
        self.password_hashes.get(name).cloned()
    }

    pub(crate) fn users(&self) -> Vec<UserRow> {
        self.users.clone()
    }

    pub(crate) fn add_board(&mut self, name: String, moderator: String) {
        self.board_by_name.insert(name.clone(), self.boards.len());
        self.boards.push(CachedBoard { name, moderator, posts: Vec::new() });
    }

    pub(crate) fn boards(&self) -> Vec<BoardRow> {
        self.boards
            .iter()
            .enumerate()
            .map(|(i, b)| BoardRow { index: i as u64 + 1, name: b.name.clone(), moderator: b.moderator.clone() })
            .collect()
    }

    pub(crate) fn add_post(
        &mut self,
        id: PostId,
        board: &str,
        author: String,
        title: String,
        content: String,
        created_at: Timestamp,
    ) {
        let Some(&board) = self.board_by_name.get(board) else {
            return;
        };
        let list = &mut self.boards[board].posts;
        match list.last() {
            Some(&last) if last > id => {
                let at = list.partition_point(|&p| p < id);
                list.insert(at, id);
            }
            _ => list.push(id),
        }
        self.posts.insert(id, CachedPost { board, author, title, content, created_at, comments: Vec::new() });
    }

    pub(crate) fn has_board(&self, name: &str) -> bool {
        self.board_by_name.contains_key(name)
    }

    pub(crate) fn has_post(&self, id: PostId) -> bool {
        self.posts.contains_key(&id)
    }

    pub(crate) fn posts(&self, board: &str) -> Option<Vec<PostSummary>> {
        let board = &self.boards[*self.board_by_name.get(board)?];
        Some(
            board
                .posts
                .iter()
                .filter_map(|id| {
                    let p = self.posts.get(id)?;
                    Some(PostSummary {
                        id: *id,
                        title: p.title.clone(),
                        author: p.author.clone(),
                        created_at: p.created_at,
                    })
                })
                .collect(),
        )
    }

    pub(crate) fn post(&self, id: PostId) -> Option<Post> {
        let p = self.posts.get(&id)?;
        Some(Post {
            id,
            board: self.boards[p.board].name.clone(),
            author: p.author.clone(),
            title: p.title.clone(),
            content: p.content.clone(),
            created_at: p.created_at,
            comments: p.comments.clone(),
        })
    }

    pub(crate) fn delete_post(&mut self, id: PostId) {
        if let Some(p) = self.posts.remove(&id) {
            let list = &mut self.boards[p.board].posts;
            if let Ok(at) = list.binary_search(&id) {
                list.remove(at);
            }
        }
    }

    pub(crate) fn edit_post(&mut self, id: PostId, title: Option<String>, content: Option<String>) {
        if let Some(p) = self.posts.get_mut(&id) {
            if let Some(title) = title {
                p.title = title;
            }
            if let Some(content) = content {
                p.content = content;
            }
        }
    }

    pub(crate) fn add_comment(&mut self, id: PostId, author: String, text: String) {
        if let Some(p) = self.posts.get_mut(&id) {
            p.comments.push(CommentRow { author, text });
        }
    }
}
