//! Boards, posts and comments (spec §5).

use bbs_protocol::answer;
use bbs_protocol::command::{
    matches_key, Comment, CreateBoard, CreatePost, DeletePost, ListBoard, ListPost, PostChange as Change, Read,
    UpdatePost,
};
use bbs_protocol::table::format_table;
use bbs_protocol::Reply;
use bbs_storage::{CommentKind, NewPost, PostChange, PostEdit, PostId, PostListing, PostSummary, Removal, Store};
use chrono::TimeZone;

use super::context::{logged_in, require, Apply, Caller, Failure, Outcome};
use super::moderation::{acting, keep_seconds, refusal_answer};
use super::post_table::PostTable;
use super::subscription;
use super::Answer;
use crate::state::Shared;

/// `MM/DD` in the server's local time.
///
/// Time zone offsets and their changes fall on quarter hours, so every
/// second of one aligned 15-minute slot has the same local date: the last
/// answer is kept per thread, and a `list-post` of posts written on the
/// same day asks the time zone database once, not once per row.
pub(crate) fn month_day(unix: i64) -> String {
    thread_local! {
        static LAST: std::cell::RefCell<(i64, String)> = const { std::cell::RefCell::new((i64::MIN, String::new())) };
    }
    let slot = unix.div_euclid(15 * 60);
    LAST.with_borrow_mut(|(last_slot, last)| {
        if *last_slot != slot {
            *last = match chrono::Local.timestamp_opt(unix, 0) {
                chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.format("%m/%d").to_string(),
                chrono::LocalResult::None => "??/??".to_owned(),
            };
            *last_slot = slot;
        }
        last.clone()
    })
}

impl Apply for CreateBoard {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        let created = shared.store.create_board(&self.name, &user.name).await?;
        Ok(Reply::text(if created { answer::BOARD_CREATED } else { answer::BOARD_EXISTS }))
    }
}

impl Apply for CreatePost {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        let post = NewPost {
            board: self.board,
            author: user.name.clone(),
            title: self.title,
            content: self.content,
            created_at: shared.config.clock.now(),
        };
        // Held to the board's bans and settings in the post's own write.
        match shared.store.create_post_as_member(post.clone()).await? {
            Ok(created) => {
                shared.activity.post_created(&post.board, created.id, &post.author, post.created_at);
                subscription::announce_new_post(shared, created, post);
                Ok(Reply::text(answer::POST_CREATED))
            }
            Err(refusal) => Ok(refusal_answer(refusal, answer::NO_SUCH_BOARD)),
        }
    }
}

impl Apply for ListBoard {
    async fn apply<S: Store>(self, shared: &Shared<S>, _caller: &mut Caller<'_>) -> Outcome {
        let rows: Vec<Vec<String>> = shared
            .store
            .boards()
            .await?
            .into_iter()
            .filter(|b| matches_key(self.key.as_deref(), &b.name))
            .map(|b| vec![b.index.to_string(), b.name, b.moderator])
            .collect();
        Ok(Reply::text(format_table(&["Index", "Name", "Moderator"], &rows)))
    }
}

impl Apply for ListPost {
    async fn apply<S: Store>(self, shared: &Shared<S>, _caller: &mut Caller<'_>) -> Outcome {
        if self.long {
            return super::community::list_post_long(shared, &self.board, self.key.as_deref()).await;
        }
        // A `##key` filter keeps few rows: the whole board is read and
        // filtered; without one a big board may be streamed (see below).
        if self.key.is_none() {
            return match list_post(shared, &self.board, false).await? {
                Answer::Whole(reply) => Ok(reply),
                Answer::PostTable(_) => unreachable!("asked for a whole answer"),
            };
        }
        let Some(posts) = shared.store.posts(&self.board).await? else {
            return Ok(Reply::text(answer::NO_SUCH_BOARD));
        };
        let pinned = shared.store.pinned_posts(&self.board).await?;
        let rows: Vec<Vec<String>> = pinned_first(pinned, posts)
            .filter(|(_, p)| matches_key(self.key.as_deref(), &p.title))
            .map(|(pin, p)| vec![serial_cell(p.id, pin), p.title, p.author, month_day(p.created_at)])
            .collect();
        Ok(Reply::text(format_table(&["S/N", "Title", "Author", "Date"], &rows)))
    }
}

/// A board's posts with its pinned ones first (in pin order, marked
/// `true`), then the others by S/N.
pub(super) fn pinned_first(
    pinned: Vec<PostSummary>,
    posts: Vec<PostSummary>,
) -> impl Iterator<Item = (bool, PostSummary)> {
    let ids: Vec<PostId> = pinned.iter().map(|p| p.id).collect();
    pinned
        .into_iter()
        .map(|p| (true, p))
        .chain(posts.into_iter().filter(move |p| !ids.contains(&p.id)).map(|p| (false, p)))
}

/// A post's S/N as `list-post` writes it: `★12` when pinned.
pub(crate) fn serial_cell(id: PostId, pinned: bool) -> String {
    if pinned {
        format!("{}{id}", answer::PIN_MARK)
    } else {
        id.to_string()
    }
}

/// `list-post`: a board small enough is answered whole; a bigger one, if
/// `in_pieces`, as a [`PostTable`] that the engine writes as its peer reads
/// (UDP has no such peer: there the pages are gathered into one answer).
pub(crate) async fn list_post<S: Store>(shared: &Shared<S>, board: &str, in_pieces: bool) -> Result<Answer, Failure> {
    let listing = shared.store.post_listing(board).await?;
    // Pinned posts come first (few: read beside the listing, not in it).
    let pinned = if listing.is_some() { shared.store.pinned_posts(board).await? } else { Vec::new() };
    let posts = match listing {
        None => return Ok(Answer::Whole(Reply::text(answer::NO_SUCH_BOARD))),
        Some(PostListing::Pages(pages)) if in_pieces => {
            return Ok(Answer::PostTable(PostTable::open(pages, pinned).await?))
        }
        Some(PostListing::Whole(posts)) => posts,
        Some(PostListing::Pages(pages)) => shared.store.posts(board).await.map(|posts| {
            drop(pages);
            posts.unwrap_or_default()
        })?,
    };
    let rows: Vec<Vec<String>> = pinned_first(pinned, posts)
        .map(|(pin, p)| vec![serial_cell(p.id, pin), p.title, p.author, month_day(p.created_at)])
        .collect();
    Ok(Answer::Whole(Reply::text(format_table(&["S/N", "Title", "Author", "Date"], &rows))))
}

impl Apply for Read {
    async fn apply<S: Store>(self, shared: &Shared<S>, _caller: &mut Caller<'_>) -> Outcome {
        let Some(post) = shared.store.post(self.post).await? else {
            return Ok(Reply::text(answer::NO_SUCH_POST));
        };
        let mut text = format!(
            "Author: {}\nTitle: {}\nDate: {}\n--\n{}\n--",
            post.author,
            post.title,
            month_day(post.created_at),
            post.content
        );
        for comment in post.comments {
            let mark = match comment.kind {
                CommentKind::Comment => "",
                CommentKind::Push => answer::PUSH_MARK,
                CommentKind::Boo => answer::BOO_MARK,
            };
            let space = if mark.is_empty() { "" } else { " " };
            text.push_str(&format!("\n{mark}{space}{}: {}", comment.author, comment.text));
        }
        Ok(Reply::text(text))
    }
}

fn change_answer(change: PostChange, done: &'static str) -> Reply {
    Reply::text(match change {
        PostChange::Done => done,
        PostChange::NoSuchPost => answer::NO_SUCH_POST,
        PostChange::NotOwner => answer::NOT_POST_OWNER,
    })
}

impl Apply for DeletePost {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let by = require!(acting(shared, caller));
        // Soft: the post goes to its board's recycle bin.
        let removal = shared.store.recycle_post(self.post, &by, self.reason.as_deref(), keep_seconds(shared)).await?;
        Ok(Reply::text(match removal {
            Removal::NoPost => answer::NO_SUCH_POST,
            Removal::NotOwner => answer::NOT_POST_OWNER,
            Removal::Pinned => answer::PINNED_CANNOT_BE_DELETED,
            Removal::Done => answer::POST_DELETED,
        }))
    }
}

impl Apply for UpdatePost {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        let edit = match self.change {
            Change::Title(t) => PostEdit::Title(t),
            Change::Content(c) => PostEdit::Content(c),
        };
        let _ = user;
        let by = require!(acting(shared, caller));
        // Every revision is kept for `post-history`.
        let change = shared.store.edit_post_keeping_history(self.post, &by, edit).await?;
        Ok(change_answer(change, answer::POST_UPDATED))
    }
}

impl Apply for Comment {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        if let Some(refused) = super::community::comment_allowance(shared, &user.name, self.post).await? {
            return Ok(refused);
        }
        let by = require!(acting(shared, caller));
        Ok(match shared.store.comment_as_member(self.post, &self.text, &by).await? {
            Ok(()) => Reply::text(answer::COMMENTED),
            Err(refusal) => refusal_answer(refusal, answer::NO_SUCH_POST),
        })
    }
}
