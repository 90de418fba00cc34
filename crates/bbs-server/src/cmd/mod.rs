//! What each command does: one [`Apply`] implementation per command type
//! of the protocol crate (accounts, boards and posts, chatrooms, each in
//! its own file), and [`execute`], the one place that dispatches.
//!
//! Checks run in the order of spec §5: usage (already done by the parser),
//! then the transport (from the command table), then login, then existence
//! of the board or post, then ownership.

mod account;
mod board;
mod chatroom;
mod community;
mod context;
mod files;
mod moderation;
mod post_table;
mod search;
mod social;
mod ssh_keys;
mod subscription;
mod write_limits;

pub(crate) use account::{check_password, end_session, open_session};
pub(crate) use chatroom::{room_closed, room_opened};
pub(crate) use context::{answer_failure, Caller, Via};
pub(crate) use files::{get_file, send_file, transfer_done};
pub(crate) use post_table::PostTable;
pub(crate) use search::MAX_HITS as MAX_SEARCH_HITS;
pub(crate) use ssh_keys::user_has_key;

use bbs_protocol::{Command, Reply, Transport};
use bbs_storage::Store;

use crate::state::Shared;
use context::Apply;

/// An answer for a stream connection: whole, or a table written in pieces
/// as the peer takes them (only `list-post` of a big board).
#[derive(Debug)]
pub(crate) enum Answer {
    Whole(Reply),
    PostTable(PostTable),
}

/// Like [`execute`], for a connection that can take an answer in pieces.
pub(crate) async fn execute_in_pieces<S: Store>(
    shared: &Shared<S>,
    caller: &mut Caller<'_>,
    command: Command,
) -> Answer {
    match command {
        // `list-post` goes over every stream transport (see the table).
        // A `##key` filter keeps few rows: answered whole by `execute`.
        Command::ListPost(list) if caller.via != Via::Udp && list.key.is_none() && !list.long => {
            match board::list_post(shared, &list.board, true).await {
                Ok(answer) => answer,
                Err(failure) => Answer::Whole(answer_failure(Err(failure))),
            }
        }
        command => Answer::Whole(execute(shared, caller, command).await),
    }
}

/// Runs one parsed command and gives the answer to send.
pub(crate) async fn execute<S: Store>(shared: &Shared<S>, caller: &mut Caller<'_>, command: Command) -> Reply {
    let spec = command.spec();
    let started = std::time::Instant::now();
    match (spec.transport, caller.via) {
        (Transport::Udp, _) | (Transport::Tcp, Via::Plain | Via::Client) | (Transport::TcpClientOnly, Via::Client) => {}
        (Transport::Tcp | Transport::TcpClientOnly | Transport::Client, Via::Udp) => {
            let how = if spec.transport == Transport::Client { "the bbs client" } else { "TCP" };
            return Reply::text(format!("{} works over {how}, not UDP.", spec.name));
        }
        // Files: a telnet user learns why file transfer needs the client.
        (Transport::TcpClientOnly, Via::Plain) if matches!(command, Command::SendFile(_) | Command::GetFile(_)) => {
            return Reply::text(bbs_protocol::answer::files_need_client(spec.name));
        }
        (Transport::TcpClientOnly | Transport::Client, Via::Plain) => {
            return Reply::text(format!(
                "{} needs the bbs client: chatrooms run inside the client on your own machine. \
                 Connect with: bbs <host> <port>",
                spec.name
            ));
        }
        (Transport::Client, Via::Client) => {
            return Reply::text(format!("{} is handled inside the bbs client.", spec.name));
        }
    }
    // Abuse limits and the disk guard, before any write runs.
    if let Err(refused) = write_limits::admit(shared, caller, &command) {
        return refused;
    }
    let outcome = match command {
        Command::Register(c) => c.apply(shared, caller).await,
        Command::Login(c) => c.apply(shared, caller).await,
        Command::Logout(c) => c.apply(shared, caller).await,
        Command::Whoami(c) => c.apply(shared, caller).await,
        Command::ListUser(c) => c.apply(shared, caller).await,
        Command::Exit(c) => c.apply(shared, caller).await,
        Command::CreateBoard(c) => c.apply(shared, caller).await,
        Command::CreatePost(c) => c.apply(shared, caller).await,
        Command::ListBoard(c) => c.apply(shared, caller).await,
        Command::ListPost(c) => c.apply(shared, caller).await,
        Command::Read(c) => c.apply(shared, caller).await,
        Command::DeletePost(c) => c.apply(shared, caller).await,
        Command::UpdatePost(c) => c.apply(shared, caller).await,
        Command::Comment(c) => c.apply(shared, caller).await,
        Command::CreateChatroom(c) => c.apply(shared, caller).await,
        Command::ListChatroom(c) => c.apply(shared, caller).await,
        Command::JoinChatroom(c) => c.apply(shared, caller).await,
        Command::RestartChatroom(c) => c.apply(shared, caller).await,
        // A client command: answered above, before dispatch.
        Command::Attach(_) => Ok(Reply::default()),
        Command::Help(_) => Ok(Reply::text(bbs_protocol::command::help_text())),
        // Doors (SSH keys): arms here, commands in `ssh_keys.rs`.
        Command::AddKey(c) => c.apply(shared, caller).await,
        Command::ListKey(c) => c.apply(shared, caller).await,
        Command::DeleteKey(c) => c.apply(shared, caller).await,
        // Community: arms here, commands in `community.rs`.
        Command::PushPost(c) => c.apply(shared, caller).await,
        Command::BooPost(c) => c.apply(shared, caller).await,
        Command::AddModerator(c) => c.apply(shared, caller).await,
        Command::RemoveModerator(c) => c.apply(shared, caller).await,
        Command::Ban(c) => c.apply(shared, caller).await,
        Command::Unban(c) => c.apply(shared, caller).await,
        Command::ListBan(c) => c.apply(shared, caller).await,
        Command::SetBoard(c) => c.apply(shared, caller).await,
        Command::ListRecycle(c) => c.apply(shared, caller).await,
        Command::RestorePost(c) => c.apply(shared, caller).await,
        Command::PinPost(c) => c.apply(shared, caller).await,
        Command::UnpinPost(c) => c.apply(shared, caller).await,
        Command::PostHistory(c) => c.apply(shared, caller).await,
        Command::ModLog(c) => c.apply(shared, caller).await,
        Command::Report(c) => c.apply(shared, caller).await,
        Command::ListReport(c) => c.apply(shared, caller).await,
        Command::ResolveReport(c) => c.apply(shared, caller).await,
        Command::Suspend(c) => c.apply(shared, caller).await,
        Command::Unsuspend(c) => c.apply(shared, caller).await,
        Command::PurgeUserPosts(c) => c.apply(shared, caller).await,
        // Social: arms here, commands in `social.rs`.
        Command::ListOnline(c) => c.apply(shared, caller).await,
        Command::Tell(c) => c.apply(shared, caller).await,
        Command::Yell(c) => c.apply(shared, caller).await,
        Command::Mute(c) => c.apply(shared, caller).await,
        Command::Unmute(c) => c.apply(shared, caller).await,
        Command::ShowAccounts(c) => c.apply(shared, caller).await,
        Command::Deposit(c) => c.apply(shared, caller).await,
        Command::Withdraw(c) => c.apply(shared, caller).await,
        Command::MailTo(c) => c.apply(shared, caller).await,
        Command::ListMail(c) => c.apply(shared, caller).await,
        Command::RetrMail(c) => c.apply(shared, caller).await,
        Command::DeleteMail(c) => c.apply(shared, caller).await,
        // Search and subscriptions: arms here, commands in `search.rs`.
        Command::Search(c) => c.apply(shared, caller).await,
        Command::Subscribe(c) => c.apply(shared, caller).await,
        Command::Unsubscribe(c) => c.apply(shared, caller).await,
        Command::ListSub(c) => c.apply(shared, caller).await,
        // Files: arms here, commands in `files.rs`.
        Command::GetFileList(c) => c.apply(shared, caller).await,
        Command::SendFile(c) => c.apply(shared, caller).await,
        Command::GetFile(c) => c.apply(shared, caller).await,
    };
    crate::telemetry::command_done(spec.name, started.elapsed());
    answer_failure(outcome)
}
