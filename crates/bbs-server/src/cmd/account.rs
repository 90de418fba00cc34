//! Accounts (spec §4): register, login, logout, whoami, list-user, exit;
//! and [`end_session`], the one teardown of a logged-in session.

use std::net::{IpAddr, SocketAddr};

use bbs_protocol::answer;
use bbs_protocol::command::{Exit, ListUser, Login, Logout, Register, Whoami};
use bbs_protocol::table::format_table;
use bbs_protocol::{Event, Reply};
use bbs_storage::{NewUser, Store};

use super::chatroom::{owner_gone, owns_open_room};
use super::context::{logged_in, require, Apply, Caller, Failure, Outcome};
use super::social::login_notices;
use super::subscription::missed_notices;
use crate::rate::{seconds, ClientKey};
use crate::session::{LoggedIn, Session};
use crate::state::Shared;

/// The answer to a password longer than the limit: hashing it would cost
/// time for nothing, and nobody types one.
fn password_too_long(max: usize) -> Reply {
    Reply::text(format!("Password too long: at most {max} bytes."))
}

impl Apply for Register {
    async fn apply<S: Store>(self, shared: &Shared<S>, _caller: &mut Caller<'_>) -> Outcome {
        if self.password.len() > shared.limits().max_password {
            return Ok(password_too_long(shared.limits().max_password));
        }
        // Cheap check first, so a taken name costs no hashing.
        if shared.store.password_hash(&self.username).await?.is_some() {
            return Ok(Reply::text(answer::NAME_TAKEN));
        }
        let password_hash = shared.hasher.hash(self.password).await?;
        let added = shared.store.register(NewUser { name: self.username, email: self.email, password_hash }).await?;
        Ok(Reply::text(if added { answer::REGISTERED } else { answer::NAME_TAKEN }))
    }
}

impl Apply for Login {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        if caller.session.user().is_some() {
            return Ok(Reply::text(answer::LOGOUT_FIRST));
        }
        require!(check_password(shared, caller.peer.ip(), &self.username, self.password).await?);
        let (session, text) = open_session(shared, &self.username, caller.peer).await;
        let event = Event::LoggedIn { username: self.username.clone(), token: session.user.token.clone() };
        *caller.session = Session::LoggedIn(session);
        Ok(Reply::with_event(text, event))
    }
}

/// Logs `name` in, whichever door authenticated it (`login`, the SSH
/// door): registers the session (token, inbox) and returns it with the
/// text a login shows: the welcome line, the waiting messages and unread
/// mail, then the notifications missed while offline.
pub(crate) async fn open_session<S: Store>(shared: &Shared<S>, name: &str, peer: SocketAddr) -> (LoggedIn, String) {
    // Missed notifications are taken before the session is registered
    // (from then on new ones are pushed live); waiting messages after it
    // (a message sent from now on is pushed, one sent before is here).
    let missed = missed_notices(shared, name).await;
    let mut session = shared.sessions.open(name, peer);
    // Its token must work on every server process before the client has it.
    session.announced().await;
    let messages = login_notices(shared, name).await;
    let mut text = answer::welcome(name);
    for notices in [messages, missed] {
        if !notices.is_empty() {
            text.push('\n');
            text.push_str(&notices);
        }
    }
    (session, text)
}

/// Checks a password for a login, whichever door it came through (the
/// `login` command, the SSH door): the length limit, the rate limits per
/// address and per account, then the hash. `Err` is the answer to give
/// when the login is refused.
pub(crate) async fn check_password<S: Store>(
    shared: &Shared<S>,
    ip: IpAddr,
    username: &str,
    password: String,
) -> Result<Result<(), Reply>, Failure> {
    if password.len() > shared.limits().max_password {
        return Ok(Err(password_too_long(shared.limits().max_password)));
    }
    // Rate limits before any hashing: guessing passwords is slow, and a
    // flood from one address cannot monopolise the hashers. The account
    // limit applies to unknown names too, so it reveals nothing.
    if let Err(wait) = shared.login_per_ip.check(&ClientKey::of(ip)) {
        return Ok(Err(Reply::text(format!(
            "Too many login attempts from your address. Please try again in {} seconds.",
            seconds(wait)
        ))));
    }
    if let Err(wait) = shared.login_per_account.check(&username.to_owned()) {
        return Ok(Err(Reply::text(format!(
            "Too many login attempts for {}. Please try again in {} seconds.",
            username,
            seconds(wait)
        ))));
    }
    let stored = shared.store.password_hash(username).await?;
    if !shared.hasher.verify(password, stored).await? {
        return Ok(Err(Reply::text(answer::LOGIN_FAILED)));
    }
    shared.login_per_account.reset(&username.to_owned());
    if let Some(refused) = super::moderation::suspended(shared, username).await? {
        return Ok(Err(refused));
    }
    Ok(Ok(()))
}

impl Apply for Logout {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        if owns_open_room(shared, user).await? {
            return Ok(Reply::text(answer::LEAVE_ROOM_FIRST));
        }
        let text = answer::bye(&user.name);
        end_session(shared, caller.session).await;
        Ok(Reply::with_event(text, Event::LoggedOut))
    }
}

/// Ends a logged-in session, however it ends (logout, exit, the peer gone,
/// the server closing it): the chatroom it ran is closed in the registry,
/// then the session's token and inbox go with it.
pub(crate) async fn end_session<S: Store>(shared: &Shared<S>, session: &mut Session) {
    if let Some(user) = session.user() {
        owner_gone(shared, user).await;
    }
    *session = Session::Anonymous;
}

impl Apply for Whoami {
    async fn apply<S: Store>(self, _shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        Ok(Reply::text(caller.session.user().map_or(answer::LOGIN_FIRST, |u| u.name.as_str())))
    }
}

impl Apply for ListUser {
    async fn apply<S: Store>(self, shared: &Shared<S>, _caller: &mut Caller<'_>) -> Outcome {
        let rows: Vec<Vec<String>> = shared.store.users().await?.into_iter().map(|u| vec![u.name, u.email]).collect();
        Ok(Reply::text(format_table(&["Name", "Email"], &rows)))
    }
}

impl Apply for Exit {
    async fn apply<S: Store>(self, _shared: &Shared<S>, _caller: &mut Caller<'_>) -> Outcome {
        // The session ends in the engine, which closes the connection.
        Ok(Reply::with_event("", Event::Goodbye))
    }
}
