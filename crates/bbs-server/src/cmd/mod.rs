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
mod context;
mod files;

pub(crate) use account::end_session;
pub(crate) use chatroom::{room_closed, room_opened};
pub(crate) use context::{answer_failure, Caller, Via};
pub(crate) use files::{get_file, send_file, transfer_done};

use bbs_protocol::{Command, Reply, Transport};
use bbs_storage::Store;

use crate::state::Shared;
use context::Apply;

/// Runs one parsed command and gives the answer to send.
pub(crate) async fn execute<S: Store>(shared: &Shared<S>, caller: &mut Caller<'_>, command: Command) -> Reply {
    let spec = command.spec();
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
        // Social: arms here, commands in `social.rs`.

        // Search and subscriptions: arms here, commands in `search.rs`.

        // Files: arms here, commands in `files.rs`.
        Command::GetFileList(c) => c.apply(shared, caller).await,
        Command::SendFile(c) => c.apply(shared, caller).await,
        Command::GetFile(c) => c.apply(shared, caller).await,
    };
    answer_failure(outcome)
}
