//! What each command does: one [`Apply`] implementation per command type of
//! the protocol crate, and [`execute`], the one place that dispatches.
//!
//! Checks run in the order of spec §5: usage (already done by the parser),
//! then login, then existence of the board or post, then ownership.

use std::net::SocketAddr;

use bbs_protocol::command::{
    Comment, CreateBoard, CreateChatroom, CreatePost, DeletePost, JoinChatroom, ListPost, Login, PostChange as Change,
    Read, Register, UpdatePost,
};
use bbs_protocol::table::format_table;
use bbs_protocol::{Command, Event, Reply};
use bbs_storage::{NewPost, NewUser, PostChange, PostEdit, Store, StoreError};
use chrono::TimeZone;

use crate::auth::{new_token, HashError};
use crate::rate::seconds;
use crate::chatrooms;
use crate::session::{Session, User};
use crate::Shared;

pub(crate) const LOGIN_FIRST: &str = "Please login first.";
const SERVER_BUSY: &str = "Server busy: too many logins at once. Please try again in a moment.";
const SERVER_ERROR: &str = "Server error: your request could not be completed. Please try again.";

/// How the command reached the server; decides what chatroom commands can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// telnet / nc: a person reading the server's own text.
    Plain,
    /// The `bbs` client's JSON dialect.
    Client,
    /// A UDP datagram.
    Udp,
}

/// Who is asking, and from where.
pub(crate) struct Caller<'a> {
    pub session: &'a mut Session,
    pub peer: SocketAddr,
    pub via: Via,
}

/// Why a command could not be carried out (not the user's fault).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
}

type Outcome = Result<Reply, Failure>;

/// One command's effect.
pub(crate) trait Apply {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome;
}

/// Runs one parsed command and gives the answer to send.
pub(crate) async fn execute<S: Store>(shared: &Shared<S>, caller: &mut Caller<'_>, command: Command) -> Reply {
    let outcome = match command {
        Command::Register(c) => c.apply(shared, caller).await,
        Command::Login(c) => c.apply(shared, caller).await,
        Command::Logout => logout(shared, caller).await,
        Command::Whoami => Ok(Reply::text(caller.session.user().map_or(LOGIN_FIRST, |u| u.name.as_str()))),
        Command::ListUser => list_users(shared).await,
        Command::Exit => Ok(Reply::with_event("", Event::Goodbye)),
        Command::CreateBoard(c) => c.apply(shared, caller).await,
        Command::CreatePost(c) => c.apply(shared, caller).await,
        Command::ListBoard => list_boards(shared).await,
        Command::ListPost(c) => c.apply(shared, caller).await,
        Command::Read(c) => c.apply(shared, caller).await,
        Command::DeletePost(c) => c.apply(shared, caller).await,
        Command::UpdatePost(c) => c.apply(shared, caller).await,
        Command::Comment(c) => c.apply(shared, caller).await,
        Command::ListChatroom => list_chatrooms(shared, caller).await,
        Command::CreateChatroom(_) | Command::JoinChatroom(_) | Command::RestartChatroom | Command::Attach
            if caller.via != Via::Client =>
        {
            Ok(Reply::text(chatrooms::needs_client(command.spec().name, caller.via)))
        }
        Command::Attach => Ok(Reply::text(chatrooms::needs_client("attach", caller.via))),
        Command::CreateChatroom(c) => c.apply(shared, caller).await,
        Command::RestartChatroom => restart_chatroom(shared, caller).await,
        Command::JoinChatroom(c) => c.apply(shared, caller).await,
        Command::Help => Ok(Reply::text(bbs_protocol::command::help_text())),
    };
    answer_failure(outcome)
}

/// A client-dialect request line (starting with `%`, see
/// [`bbs_protocol::chat`]).
pub(crate) async fn client_request<S: Store>(shared: &Shared<S>, caller: &mut Caller<'_>, line: &str) -> Reply {
    answer_failure(chatrooms::client_request(shared, caller, line).await.map_err(Failure::from))
}

fn answer_failure(outcome: Outcome) -> Reply {
    outcome.unwrap_or_else(|failure| match failure {
        Failure::Hash(HashError::Busy) => Reply::text(SERVER_BUSY),
        failure => {
            tracing::error!(error = %failure, "command failed");
            Reply::text(SERVER_ERROR)
        }
    })
}

/// The logged-in user, or the "login first" answer.
fn logged_in<'a>(caller: &'a Caller<'_>) -> Result<&'a User, Reply> {
    caller.session.user().ok_or_else(|| Reply::text(LOGIN_FIRST))
}

/// Returns early from an `apply` with an answer for the user.
macro_rules! require {
    ($check:expr) => {
        match $check {
            Ok(value) => value,
            Err(reply) => return Ok(reply),
        }
    };
}

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

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The answer to a password longer than the limit: hashing it would cost
/// time for nothing, and nobody types one.
fn password_too_long(max: usize) -> Reply {
    Reply::text(format!("Password too long: at most {max} bytes."))
}

impl Apply for Register {
    async fn apply<S: Store>(self, shared: &Shared<S>, _caller: &mut Caller<'_>) -> Outcome {
        if self.password.len() > shared.config.max_password {
            return Ok(password_too_long(shared.config.max_password));
        }
        // Cheap check first, so a taken name costs no hashing.
        if shared.store.password_hash(&self.username).await?.is_some() {
            return Ok(Reply::text("Username is already used."));
        }
        let password_hash = shared.hasher.hash(self.password).await?;
        let added = shared.store.register(NewUser { name: self.username, email: self.email, password_hash }).await?;
        Ok(Reply::text(if added { "Register successfully." } else { "Username is already used." }))
    }
}

impl Apply for Login {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        if caller.session.user().is_some() {
            return Ok(Reply::text("Please logout first."));
        }
        if self.password.len() > shared.config.max_password {
            return Ok(password_too_long(shared.config.max_password));
        }
        // Rate limits before any hashing: guessing passwords is slow, and a
        // flood from one address cannot monopolise the hashers. The account
        // limit applies to unknown names too, so it reveals nothing.
        if let Err(wait) = shared.login_per_ip.check(&caller.peer.ip()) {
            return Ok(Reply::text(format!(
                "Too many login attempts from your address. Please try again in {} seconds.",
                seconds(wait)
            )));
        }
        if let Err(wait) = shared.login_per_account.check(&self.username) {
            return Ok(Reply::text(format!(
                "Too many login attempts for {}. Please try again in {} seconds.",
                self.username,
                seconds(wait)
            )));
        }
        let stored = shared.store.password_hash(&self.username).await?;
        if !shared.hasher.verify(self.password, stored).await? {
            return Ok(Reply::text("Login failed."));
        }
        shared.login_per_account.reset(&self.username);
        let token = new_token();
        shared.tokens.insert(&token, &self.username, caller.peer.ip());
        let text = format!("Welcome, {}.", self.username);
        let event = Event::LoggedIn { username: self.username.clone(), token: token.clone() };
        *caller.session = Session::LoggedIn(User { name: self.username, token });
        Ok(Reply::with_event(text, event))
    }
}

async fn logout<S: Store>(shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
    let user = require!(logged_in(caller));
    if shared.store.chatroom(&user.name).await?.is_some_and(|room| room.open) {
        return Ok(Reply::text("Please do \"attach\" and \"leave-chatroom\" first."));
    }
    shared.tokens.revoke(&user.token);
    // A create/restart that never got its port bound dies with the login.
    chatrooms::owner_disconnected(shared, user).await;
    let text = format!("Bye, {}.", user.name);
    *caller.session = Session::Anonymous;
    Ok(Reply::with_event(text, Event::LoggedOut))
}

async fn list_users<S: Store>(shared: &Shared<S>) -> Outcome {
    let rows: Vec<Vec<String>> = shared.store.users().await?.into_iter().map(|u| vec![u.name, u.email]).collect();
    Ok(Reply::text(format_table(&["Name", "Email"], &rows)))
}

impl Apply for CreateBoard {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        let created = shared.store.create_board(&self.name, &user.name).await?;
        Ok(Reply::text(if created { "Create board successfully." } else { "Board already exists." }))
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
            created_at: now(),
        };
        let created = shared.store.create_post(post).await?;
        Ok(Reply::text(if created.is_some() { "Create post successfully." } else { "Board does not exist." }))
    }
}

async fn list_boards<S: Store>(shared: &Shared<S>) -> Outcome {
    let rows: Vec<Vec<String>> = shared
        .store
        .boards()
        .await?
        .into_iter()
        .map(|b| vec![b.index.to_string(), b.name, b.moderator])
        .collect();
    Ok(Reply::text(format_table(&["Index", "Name", "Moderator"], &rows)))
}

impl Apply for ListPost {
    async fn apply<S: Store>(self, shared: &Shared<S>, _caller: &mut Caller<'_>) -> Outcome {
        let Some(posts) = shared.store.posts(&self.board).await? else {
            return Ok(Reply::text("Board does not exist."));
        };
        let rows: Vec<Vec<String>> = posts
            .into_iter()
            .map(|p| vec![p.id.to_string(), p.title, p.author, month_day(p.created_at)])
            .collect();
        Ok(Reply::text(format_table(&["S/N", "Title", "Author", "Date"], &rows)))
    }
}

impl Apply for Read {
    async fn apply<S: Store>(self, shared: &Shared<S>, _caller: &mut Caller<'_>) -> Outcome {
        let Some(post) = shared.store.post(self.post).await? else {
            return Ok(Reply::text("Post does not exist."));
        };
        let mut text = format!(
            "Author: {}\nTitle: {}\nDate: {}\n--\n{}\n--",
            post.author,
            post.title,
            month_day(post.created_at),
            post.content
        );
        for comment in post.comments {
            text.push_str(&format!("\n{}: {}", comment.author, comment.text));
        }
        Ok(Reply::text(text))
    }
}

fn change_answer(change: PostChange, done: &'static str) -> Reply {
    Reply::text(match change {
        PostChange::Done => done,
        PostChange::NoSuchPost => "Post does not exist.",
        PostChange::NotOwner => "Not the post owner.",
    })
}

impl Apply for DeletePost {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        let change = shared.store.delete_post(self.post, &user.name).await?;
        Ok(change_answer(change, "Delete successfully."))
    }
}

impl Apply for UpdatePost {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        let edit = match self.change {
            Change::Title(t) => PostEdit::Title(t),
            Change::Content(c) => PostEdit::Content(c),
        };
        let change = shared.store.edit_post(self.post, &user.name, edit).await?;
        Ok(change_answer(change, "Update successfully."))
    }
}

impl Apply for Comment {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        let added = shared.store.comment(self.post, &user.name, &self.text, now()).await?;
        Ok(Reply::text(if added { "Comment successfully." } else { "Post does not exist." }))
    }
}

// The chatroom commands below are reached only from the client dialect:
// over telnet `execute` answers that they need the client.

impl Apply for CreateChatroom {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller)).clone();
        Ok(chatrooms::create(shared, &user, self).await?)
    }
}

async fn restart_chatroom<S: Store>(shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
    let user = require!(logged_in(caller)).clone();
    Ok(chatrooms::restart(shared, &user).await?)
}

impl Apply for JoinChatroom {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller)).clone();
        Ok(chatrooms::join(shared, &user, self).await?)
    }
}

async fn list_chatrooms<S: Store>(shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
    require!(logged_in(caller));
    let rows: Vec<Vec<String>> = shared
        .store
        .chatrooms()
        .await?
        .into_iter()
        .map(|room| vec![room.owner, if room.open { "open" } else { "close" }.to_owned()])
        .collect();
    Ok(Reply::text(format_table(&["Chatroom_name", "Status"], &rows)))
}
