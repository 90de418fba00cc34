//! The course BBS's part of the store: users, boards, posts, comments and
//! the chatroom registry.

use bbs_storage::{
    BoardRow, ChatroomRow, CommentKind, CommentRow, NewPost, NewUser, Post, PostChange, PostEdit, PostId, PostSummary,
    Result, Store, Timestamp, UserRow,
};
use deadpool_postgres::Transaction;
use tokio_postgres::Row;

use crate::search::{index_vector, post_created};
use crate::{commit, signed, unsigned, OrBackend, PostgresStore};

fn post_summary(r: &Row) -> PostSummary {
    PostSummary { id: unsigned(r.get(0)), title: r.get(1), author: r.get(2), created_at: r.get(3) }
}

fn chatroom_row(r: &Row) -> ChatroomRow {
    ChatroomRow {
        owner: r.get(0),
        address: r.get(1),
        port: u16::try_from(r.get::<_, i32>(2)).unwrap_or(0),
        open: r.get(3),
    }
}

/// Whether `by` may change post `id`, with the post's row locked until the
/// transaction ends (so a concurrent delete cannot slip in between).
/// Inside a transaction: changes post `id`, now `(title, content)`, by
/// `edit`, with its search vector (plain edits and edits that keep history
/// alike). Gives the post's new title and content.
pub(crate) async fn apply_edit(
    tx: &Transaction<'_>,
    id: PostId,
    (mut title, mut content): (String, String),
    edit: PostEdit,
) -> Result<(String, String)> {
    match edit {
        PostEdit::Title(t) => title = t,
        PostEdit::Content(t) => content = t,
    }
    let search = index_vector(&title, &content);
    tx.execute(
        "UPDATE posts SET title = $2, content = $3, search = $4::text::tsvector WHERE id = $1",
        &[&signed(id), &title, &content, &search],
    )
    .await
    .or_backend()?;
    Ok((title, content))
}

async fn owned_post(tx: &Transaction<'_>, id: PostId, by: &str) -> Result<PostChange> {
    let row = tx.query_opt("SELECT author FROM posts WHERE id = $1 FOR UPDATE", &[&signed(id)]).await.or_backend()?;
    Ok(match row {
        None => PostChange::NoSuchPost,
        Some(r) if r.get::<_, &str>(0) != by => PostChange::NotOwner,
        Some(_) => PostChange::Done,
    })
}

impl Store for PostgresStore {
    async fn register(&self, user: NewUser) -> Result<bool> {
        let c = self.client().await?;
        let n = c
            .execute(
                "INSERT INTO users (name, email, password_hash, registered_at)
                 VALUES ($1, $2, $3, extract(epoch FROM now())::bigint) ON CONFLICT (name) DO NOTHING",
                &[&user.name, &user.email, &user.password_hash],
            )
            .await
            .or_backend()?;
        Ok(n == 1)
    }

    async fn password_hash(&self, name: &str) -> Result<Option<String>> {
        let c = self.client().await?;
        let row = c.query_opt("SELECT password_hash FROM users WHERE name = $1", &[&name]).await.or_backend()?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn users(&self) -> Result<Vec<UserRow>> {
        let c = self.client().await?;
        let rows = c.query("SELECT name, email FROM users ORDER BY id", &[]).await.or_backend()?;
        Ok(rows.iter().map(|r| UserRow { name: r.get(0), email: r.get(1) }).collect())
    }

    async fn create_board(&self, name: &str, moderator: &str) -> Result<bool> {
        let c = self.client().await?;
        let n = c
            .execute(
                "INSERT INTO boards (name, moderator) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                &[&name, &moderator],
            )
            .await
            .or_backend()?;
        Ok(n == 1)
    }

    async fn boards(&self) -> Result<Vec<BoardRow>> {
        let c = self.client().await?;
        // The owner, then the moderators the owner added, in order.
        let rows = c
            .query(
                "SELECT b.name, b.moderator || coalesce((SELECT '/' || string_agg(m.username, '/' ORDER BY m.id)
                    FROM board_moderators m WHERE m.board_id = b.id), '')
                 FROM boards b ORDER BY b.id",
                &[],
            )
            .await
            .or_backend()?;
        Ok(rows.iter().zip(1..).map(|(r, index)| BoardRow { index, name: r.get(0), moderator: r.get(1) }).collect())
    }

    async fn create_post(&self, post: NewPost) -> Result<Option<PostId>> {
        let search = index_vector(&post.title, &post.content);
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        let row = tx
            .query_opt(
                "INSERT INTO posts (board_id, author, title, content, created_at, search)
                 SELECT id, $2, $3, $4, $5, $6::text::tsvector FROM boards WHERE name = $1 RETURNING id",
                &[&post.board, &post.author, &post.title, &post.content, &post.created_at, &search],
            )
            .await
            .or_backend()?;
        let Some(row) = row else { return Ok(None) };
        let id = unsigned(row.get(0));
        post_created(&tx, id, &post).await?;
        commit(tx).await?;
        Ok(Some(id))
    }

    async fn posts(&self, board: &str) -> Result<Option<Vec<PostSummary>>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT p.id, p.title, p.author, p.created_at
                 FROM boards b LEFT JOIN posts p ON p.board_id = b.id WHERE b.name = $1 ORDER BY p.id",
                &[&board],
            )
            .await
            .or_backend()?;
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(rows.iter().filter(|r| r.get::<_, Option<i64>>(0).is_some()).map(post_summary).collect()))
    }

    async fn post(&self, id: PostId) -> Result<Option<Post>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT b.name, p.author, p.title, p.content, p.created_at, m.author, m.text, m.kind
                 FROM posts p JOIN boards b ON b.id = p.board_id LEFT JOIN comments m ON m.post_id = p.id
                 WHERE p.id = $1 ORDER BY m.id",
                &[&signed(id)],
            )
            .await
            .or_backend()?;
        let Some(first) = rows.first() else { return Ok(None) };
        let mut post = Post {
            id,
            board: first.get(0),
            author: first.get(1),
            title: first.get(2),
            content: first.get(3),
            created_at: first.get(4),
            comments: Vec::new(),
        };
        for r in &rows {
            if let Some(author) = r.get::<_, Option<String>>(5) {
                post.comments.push(CommentRow { author, text: r.get(6), kind: CommentKind::from_code(r.get(7)) });
            }
        }
        Ok(Some(post))
    }

    async fn delete_post(&self, id: PostId, by: &str) -> Result<PostChange> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        let outcome = owned_post(&tx, id, by).await?;
        if outcome == PostChange::Done {
            // Comments go with it (ON DELETE CASCADE), the index is its row.
            tx.execute("DELETE FROM posts WHERE id = $1", &[&signed(id)]).await.or_backend()?;
            commit(tx).await?;
        }
        Ok(outcome)
    }

    async fn edit_post(&self, id: PostId, by: &str, edit: PostEdit) -> Result<PostChange> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        let outcome = owned_post(&tx, id, by).await?;
        if outcome == PostChange::Done {
            let row =
                tx.query_one("SELECT title, content FROM posts WHERE id = $1", &[&signed(id)]).await.or_backend()?;
            apply_edit(&tx, id, (row.get(0), row.get(1)), edit).await?;
            commit(tx).await?;
        }
        Ok(outcome)
    }

    async fn comment(&self, id: PostId, author: &str, text: &str, at: Timestamp) -> Result<bool> {
        let c = self.client().await?;
        let n = c
            .execute(
                "INSERT INTO comments (post_id, author, text, created_at) SELECT id, $2, $3, $4 FROM posts WHERE id = $1",
                &[&signed(id), &author, &text, &at],
            )
            .await
            .or_backend()?;
        Ok(n == 1)
    }

    async fn open_chatroom(&self, owner: &str, address: &str, port: u16) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO chatrooms (owner, address, port, open) VALUES ($1, $2, $3, TRUE)
             ON CONFLICT (owner) DO UPDATE SET address = excluded.address, port = excluded.port, open = TRUE",
            &[&owner, &address, &i32::from(port)],
        )
        .await
        .or_backend()?;
        Ok(())
    }

    async fn close_chatroom(&self, owner: &str) -> Result<()> {
        let c = self.client().await?;
        c.execute("UPDATE chatrooms SET open = FALSE WHERE owner = $1", &[&owner]).await.or_backend()?;
        Ok(())
    }

    async fn close_all_chatrooms(&self) -> Result<()> {
        let c = self.client().await?;
        c.execute("UPDATE chatrooms SET open = FALSE WHERE open", &[]).await.or_backend()?;
        Ok(())
    }

    async fn chatroom(&self, owner: &str) -> Result<Option<ChatroomRow>> {
        let c = self.client().await?;
        let row = c
            .query_opt("SELECT owner, address, port, open FROM chatrooms WHERE owner = $1", &[&owner])
            .await
            .or_backend()?;
        Ok(row.as_ref().map(chatroom_row))
    }

    async fn chatrooms(&self) -> Result<Vec<ChatroomRow>> {
        let c = self.client().await?;
        let rows = c.query("SELECT owner, address, port, open FROM chatrooms ORDER BY id", &[]).await.or_backend()?;
        Ok(rows.iter().map(chatroom_row).collect())
    }
}
