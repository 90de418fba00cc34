//! Abuse limits on writes, checked before a write command runs: the disk
//! guard, the per-account and per-address write rates, and the
//! registrations per address. Reads, logins and live messages are never
//! held back here.

use bbs_protocol::answer::{OUT_OF_STORAGE, TOO_MANY_REQUESTS};
use bbs_protocol::{Command, Reply};

use super::context::Caller;
use crate::rate::ClientKey;
use crate::state::Shared;

/// What a command does to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    /// Makes content others see (posts, comments, pushes, boards, mails): counted
    /// against the write rates, refused when the disk is short.
    Counted,
    /// Any other durable write: refused when the disk is short.
    Durable,
}

/// How `command` writes, if it does. `tell` is a live message (it only
/// stores a line for an offline user, bounded by its own limits) and
/// `login` a login: both go on when the disk is short.
fn write_of(command: &Command) -> Option<Write> {
    match command {
        Command::CreatePost(_)
        | Command::Comment(_)
        | Command::PushPost(_)
        | Command::BooPost(_)
        | Command::Report(_)
        | Command::CreateBoard(_)
        | Command::MailTo(_) => Some(Write::Counted),
        Command::Register(_)
        | Command::UpdatePost(_)
        | Command::DeletePost(_)
        | Command::CreateChatroom(_)
        | Command::AddKey(_)
        | Command::DeleteKey(_)
        | Command::Mute(_)
        | Command::Unmute(_)
        | Command::Deposit(_)
        | Command::Withdraw(_)
        | Command::DeleteMail(_)
        | Command::Subscribe(_)
        | Command::Unsubscribe(_)
        | Command::SendFile(_)
        | Command::AddModerator(_)
        | Command::RemoveModerator(_)
        | Command::Ban(_)
        | Command::Unban(_)
        | Command::SetBoard(_)
        | Command::RestorePost(_)
        | Command::PinPost(_)
        | Command::UnpinPost(_)
        | Command::ResolveReport(_)
        | Command::Suspend(_)
        | Command::Unsuspend(_)
        | Command::PurgeUserPosts(_) => Some(Write::Durable),
        _ => None,
    }
}

/// Lets `command` go ahead, or gives the answer refusing it. A command of
/// a caller who is not logged in passes (it answers "Please login first."
/// itself), except `register`, which is limited per address.
pub(super) fn admit<S>(shared: &Shared<S>, caller: &Caller<'_>, command: &Command) -> Result<(), Reply> {
    let Some(write) = write_of(command) else {
        return Ok(());
    };
    let registering = matches!(command, Command::Register(_));
    let user = caller.session.user();
    if user.is_none() && !registering {
        return Ok(());
    }
    if !shared.disk.has_room() {
        return Err(Reply::text(OUT_OF_STORAGE));
    }
    // An IPv6 client counts by its /64, like every per-address limit.
    let ip = ClientKey::of(caller.peer.ip());
    if registering {
        if shared.register_per_ip.check(&ip).is_err() {
            return Err(Reply::text(TOO_MANY_REQUESTS));
        }
        return Ok(());
    }
    if let (Write::Counted, Some(user)) = (write, user) {
        if shared.write_per_account.check(&user.name).is_err() || shared.write_per_ip.check(&ip).is_err() {
            return Err(Reply::text(TOO_MANY_REQUESTS));
        }
    }
    Ok(())
}
