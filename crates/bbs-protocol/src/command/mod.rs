//! Commands: one type per command, one enum collecting them, one table
//! ([`COMMANDS`]) driving parsing, usage answers and `help`.
//!
//! Parsing follows spec §4–§5: the first word names the command; "usage"
//! answers are given whenever the arguments are missing or malformed; in
//! `--title` / `--content` text the words after the flag up to the next flag
//! (or the end of the line) are taken as typed, surrounding spaces trimmed,
//! and `<br>` in content means a line break.

use std::fmt;

// Each area beyond the course's three parts keeps its command types in a
// file of its own (and its table rows in its section of the table below).
mod community;
pub use community::{
    AddModerator, Ban, BoardSetting, BooPost, ListBan, ListRecycle, ListReport, ModLog, PinPost, PostHistory,
    PurgeUserPosts, PushPost, RemoveModerator, Report, ResolveReport, RestorePost, SetBoard, Suspend, Unban, UnpinPost,
    Unsuspend, MAX_DAYS,
};
pub mod social;
pub use social::{
    DeleteMail, Deposit, ListMail, ListOnline, MailTo, Mute, RetrMail, ShowAccounts, Tell, Unmute, Withdraw, Yell,
};
mod search;
pub use search::{matches_key, ListSub, Search, Subscribe, SubscriptionTarget, Unsubscribe};
mod ssh_keys;

pub use ssh_keys::{AddKey, DeleteKey, ListKey};
pub mod files;
pub use files::{GetFile, GetFileList, SendFile};

/// Which way the `bbs` client sends a command (spec §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Sent on the TCP connection.
    Tcp,
    /// Sent on the TCP connection, but only the `bbs` client can carry it
    /// out: the chatroom it opens or joins runs inside the client. A
    /// telnet user is told so.
    TcpClientOnly,
    /// Sent as a UDP datagram (the server also takes it over TCP).
    Udp,
    /// Handled inside the client; the server only explains that.
    Client,
}

/// One row of the command table.
pub struct CommandSpec {
    pub name: &'static str,
    /// The usage line (spec §4–§5), shown by `help`.
    pub usage: &'static str,
    /// The answer to missing or malformed arguments: the usage line, except
    /// where the spec words it otherwise (`send-file`: `No file to send.`).
    pub missing: &'static str,
    /// One line for `help`.
    pub summary: &'static str,
    pub transport: Transport,
    parse: fn(&Args<'_>) -> Option<Command>,
}

impl fmt::Debug for CommandSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandSpec").field("name", &self.name).finish()
    }
}

/// Why a line is not a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Blank line: the prompt is simply shown again.
    #[error("empty line")]
    Empty,
    #[error("Unknown command: {0}")]
    Unknown(String),
    /// The arguments are missing or malformed; holds the usage answer.
    #[error("{0}")]
    Usage(&'static str),
}

/// A post's serial number (one sequence across all boards).
pub type PostId = u64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Register {
    pub username: String,
    pub email: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logout;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Whoami;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListUser;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateBoard {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatePost {
    pub board: String,
    pub title: String,
    /// Content with `<br>` already turned into `\n`.
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListBoard {
    /// `##<key>`: only boards whose name contains it (any case).
    pub key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPost {
    pub board: String,
    /// `##<key>`: only posts whose title contains it (any case).
    pub key: Option<String>,
    /// `--long`: with the `Push` column, pinned posts first.
    pub long: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    pub post: PostId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletePost {
    pub post: PostId,
    /// `--reason <text>`: a moderator deleting someone else's post must
    /// give one (the community area's form).
    pub reason: Option<String>,
}

/// What `update-post` changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostChange {
    Title(String),
    /// With `<br>` already turned into `\n`.
    Content(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdatePost {
    pub post: PostId,
    pub change: PostChange,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub post: PostId,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateChatroom {
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListChatroom;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinChatroom {
    pub owner: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartChatroom;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attach;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Help;

/// Declares the [`Command`] enum (one variant per command type, named like
/// the type) and the [`COMMANDS`] table from one list, so that a command's
/// name, usage, transport and parser are written once and
/// [`Command::spec`] finds its row without restating the name.
macro_rules! command_table {
    (@missing $usage:literal) => { $usage };
    (@missing $usage:literal, $missing:literal) => { $missing };
    ($(
        $variant:ident {
            name: $name:literal,
            usage: $usage:literal,
            $(missing: $missing:literal,)?
            summary: $summary:literal,
            transport: $transport:ident,
            parse: $parse:expr $(,)?
        }
    ),* $(,)?) => {
        /// Every command of the BBS prompt.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Command {
            $($variant($variant),)*
        }

        /// The command table: the single source of names, usage answers,
        /// help text, transports and parsers.
        pub static COMMANDS: &[CommandSpec] = &[
            $(CommandSpec {
                name: $name,
                usage: $usage,
                missing: command_table!(@missing $usage $(, $missing)?),
                summary: $summary,
                transport: Transport::$transport,
                parse: $parse,
            },)*
        ];

        impl Command {
            /// The table row of this command.
            pub fn spec(&self) -> &'static CommandSpec {
                /// Row numbers, in table order.
                #[allow(clippy::enum_variant_names)]
                enum Row {
                    $($variant,)*
                }
                match self {
                    $(Command::$variant(_) => &COMMANDS[Row::$variant as usize],)*
                }
            }
        }
    };
}

command_table! {
    Register {
        name: "register",
        usage: "Usage: register <username> <email> <password>",
        summary: "create an account",
        transport: Udp,
        parse: |a| {
            let [username, email, password] = a.exact()?;
            Some(Command::Register(Register {
                username: username.into(),
                email: email.into(),
                password: password.into(),
            }))
        },
    },
    Login {
        name: "login",
        usage: "Usage: login <username> <password>",
        summary: "log in",
        transport: Tcp,
        parse: |a| {
            let [username, password] = a.exact()?;
            Some(Command::Login(Login { username: username.into(), password: password.into() }))
        },
    },
    Logout {
        name: "logout",
        usage: "Usage: logout",
        summary: "log out",
        transport: Tcp,
        parse: |a| a.none(Command::Logout(Logout)),
    },
    Whoami {
        name: "whoami",
        usage: "Usage: whoami",
        summary: "show who you are logged in as",
        transport: Udp,
        parse: |a| a.none(Command::Whoami(Whoami)),
    },
    ListUser {
        name: "list-user",
        usage: "Usage: list-user",
        summary: "list every registered user",
        transport: Tcp,
        parse: |a| a.none(Command::ListUser(ListUser)),
    },
    Exit {
        name: "exit",
        usage: "Usage: exit",
        summary: "leave the BBS",
        transport: Tcp,
        parse: |a| a.none(Command::Exit(Exit)),
    },
    CreateBoard {
        name: "create-board",
        usage: "Usage: create-board <name>",
        summary: "create a board (you become its moderator)",
        transport: Tcp,
        parse: |a| {
            let [name] = a.exact()?;
            Some(Command::CreateBoard(CreateBoard { name: name.into() }))
        },
    },
    CreatePost {
        name: "create-post",
        usage: "Usage: create-post <board-name> --title <title> --content <content>",
        summary: "write a post (<br> in content is a line break)",
        transport: Tcp,
        parse: |a| {
            let flags = a.flags()?;
            let [board] = exact(&flags.positional)?;
            Some(Command::CreatePost(CreatePost {
                board: board.into(),
                title: clean_text(flags.title?),
                content: content_text(flags.content?),
            }))
        },
    },
    ListBoard {
        name: "list-board",
        usage: "Usage: list-board",
        summary: "list every board (list-board ##<key>: names containing key)",
        transport: Tcp,
        parse: |a| Some(Command::ListBoard(ListBoard { key: search::key_filter(a.rest)? })),
    },
    ListPost {
        name: "list-post",
        usage: "Usage: list-post <board-name>",
        summary: "list the posts of a board (list-post <board-name> ##<key>: titles containing key)",
        transport: Tcp,
        parse: |a| {
            // `--long` (the community area's form) ends the line.
            let (rest, long) = match a.rest.trim_end().strip_suffix("--long") {
                Some(rest) if rest.ends_with(char::is_whitespace) => (rest, true),
                _ => (a.rest, false),
            };
            let (board, key) = search::board_and_key(&Args { rest })?;
            Some(Command::ListPost(ListPost { board, key, long }))
        },
    },
    Read {
        name: "read",
        usage: "Usage: read <post-S/N>",
        summary: "read a post and its comments",
        transport: Tcp,
        parse: |a| {
            let [post] = a.exact()?;
            Some(Command::Read(Read { post: post_id(post)? }))
        },
    },
    DeletePost {
        name: "delete-post",
        usage: "Usage: delete-post <post-S/N>",
        summary: "delete one of your posts (a moderator: any post of the board, with --reason <text>)",
        transport: Tcp,
        parse: |a| {
            let (rest, reason) = match a.split_at_flag("--reason") {
                Some((rest, reason)) => (rest, Some(clean_text(reason?))),
                None => (a.rest, None),
            };
            let [post] = Args { rest }.exact()?;
            Some(Command::DeletePost(DeletePost { post: post_id(post)?, reason }))
        },
    },
    UpdatePost {
        name: "update-post",
        usage: "Usage: update-post <post-S/N> --title/content <new>",
        summary: "change the title or the content of one of your posts",
        transport: Tcp,
        parse: |a| {
            let flags = a.flags()?;
            let [post] = exact(&flags.positional)?;
            let change = match (flags.title, flags.content) {
                (Some(title), None) => PostChange::Title(clean_text(title)),
                (None, Some(content)) => PostChange::Content(content_text(content)),
                _ => return None,
            };
            Some(Command::UpdatePost(UpdatePost { post: post_id(post)?, change }))
        },
    },
    Comment {
        name: "comment",
        usage: "Usage: comment <post-S/N> <comment>",
        summary: "comment on a post",
        transport: Tcp,
        parse: |a| {
            let (post, text) = a.first_and_rest()?;
            Some(Command::Comment(Comment { post: post_id(post)?, text: clean_text(text) }))
        },
    },
    CreateChatroom {
        name: "create-chatroom",
        usage: "Usage: create-chatroom <port>",
        summary: "open your chatroom, hosted by your client on <port>",
        transport: TcpClientOnly,
        parse: |a| {
            let [port] = a.exact()?;
            let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
            Some(Command::CreateChatroom(CreateChatroom { port }))
        },
    },
    ListChatroom {
        name: "list-chatroom",
        usage: "Usage: list-chatroom",
        summary: "list every chatroom and whether it is open",
        transport: Udp,
        parse: |a| a.none(Command::ListChatroom(ListChatroom)),
    },
    JoinChatroom {
        name: "join-chatroom",
        usage: "Usage: join-chatroom <chatroom_name>",
        summary: "enter another user's open chatroom",
        transport: TcpClientOnly,
        parse: |a| {
            let [owner] = a.exact()?;
            Some(Command::JoinChatroom(JoinChatroom { owner: owner.into() }))
        },
    },
    RestartChatroom {
        name: "restart-chatroom",
        usage: "Usage: restart-chatroom",
        summary: "reopen your closed chatroom on the same port",
        transport: TcpClientOnly,
        parse: |a| a.none(Command::RestartChatroom(RestartChatroom)),
    },
    Attach {
        name: "attach",
        usage: "Usage: attach",
        summary: "go back into your running chatroom",
        transport: Client,
        parse: |a| a.none(Command::Attach(Attach)),
    },
    Help {
        name: "help",
        usage: "Usage: help",
        summary: "show this list",
        transport: Tcp,
        parse: |a| a.none(Command::Help(Help)),
    },
    // Doors (SSH keys): rows here, types in `ssh_keys.rs`.
    AddKey {
        name: "add-key",
        usage: "Usage: add-key <openssh-public-key>",
        summary: "let an SSH key log you in (ssh -p <port> <you>@<host>)",
        transport: Tcp,
        parse: |a| {
            let key = a.rest.trim();
            (!key.is_empty()).then(|| Command::AddKey(AddKey { key: clean_text(key) }))
        },
    },
    ListKey {
        name: "list-key",
        usage: "Usage: list-key",
        summary: "list your SSH keys",
        transport: Tcp,
        parse: |a| a.none(Command::ListKey(ListKey)),
    },
    DeleteKey {
        name: "delete-key",
        usage: "Usage: delete-key <index>",
        summary: "remove one of your SSH keys (its index in list-key)",
        transport: Tcp,
        parse: |a| {
            let [index] = a.exact()?;
            Some(Command::DeleteKey(DeleteKey { index: post_id(index)? }))
        },
    },
    // Community (pushes, moderators, bans, recycle bin, reports, sysop):
    // rows here, types in `community.rs`.
    PushPost {
        name: "push",
        usage: "Usage: push <post-S/N> <text>",
        summary: "push (推) a post: a comment that adds one to its count",
        transport: Tcp,
        parse: |a| {
            let (post, text) = a.first_and_rest()?;
            Some(Command::PushPost(PushPost { post: post_id(post)?, text: clean_text(text) }))
        },
    },
    BooPost {
        name: "boo",
        usage: "Usage: boo <post-S/N> <text>",
        summary: "boo (噓) a post: a comment that takes one from its count",
        transport: Tcp,
        parse: |a| {
            let (post, text) = a.first_and_rest()?;
            Some(Command::BooPost(BooPost { post: post_id(post)?, text: clean_text(text) }))
        },
    },
    AddModerator {
        name: "add-moderator",
        usage: "Usage: add-moderator <board> <user>",
        summary: "make a user a moderator of your board (at most 3 besides you)",
        transport: Tcp,
        parse: |a| {
            let [board, user] = a.exact()?;
            Some(Command::AddModerator(AddModerator { board: board.into(), user: user.into() }))
        },
    },
    RemoveModerator {
        name: "remove-moderator",
        usage: "Usage: remove-moderator <board> <user>",
        summary: "take a moderator of your board off it",
        transport: Tcp,
        parse: |a| {
            let [board, user] = a.exact()?;
            Some(Command::RemoveModerator(RemoveModerator { board: board.into(), user: user.into() }))
        },
    },
    Ban {
        name: "ban",
        usage: "Usage: ban <board> <user> <days> <reason>",
        summary: "moderators: keep a user from writing on the board for 1-3650 days",
        transport: Tcp,
        parse: |a| {
            let ([board, user, days], reason) = a.words_and_rest()?;
            let days = community::days(days)?;
            Some(Command::Ban(Ban { board: board.into(), user: user.into(), days, reason: clean_text(reason) }))
        },
    },
    Unban {
        name: "unban",
        usage: "Usage: unban <board> <user> <reason>",
        summary: "moderators: end a ban early",
        transport: Tcp,
        parse: |a| {
            let ([board, user], reason) = a.words_and_rest()?;
            Some(Command::Unban(Unban { board: board.into(), user: user.into(), reason: clean_text(reason) }))
        },
    },
    ListBan {
        name: "list-ban",
        usage: "Usage: list-ban <board>",
        summary: "moderators: the bans in force on the board",
        transport: Tcp,
        parse: |a| {
            let [board] = a.exact()?;
            Some(Command::ListBan(ListBan { board: board.into() }))
        },
    },
    SetBoard {
        name: "set-board",
        usage: "Usage: set-board <board> --no-boo on|off | --push-interval <seconds> | --min-days <days>",
        summary: "moderators: allow boos or not, least seconds between comments (0 or 5-240), least account age",
        transport: Tcp,
        parse: |a| {
            let words = a.words();
            let (board, setting) = words.split_first()?;
            let setting = community::board_setting(setting)?;
            Some(Command::SetBoard(SetBoard { board: (*board).into(), setting }))
        },
    },
    ListRecycle {
        name: "list-recycle",
        usage: "Usage: list-recycle <board>",
        summary: "moderators: the board's deleted posts that can still be restored",
        transport: Tcp,
        parse: |a| {
            let [board] = a.exact()?;
            Some(Command::ListRecycle(ListRecycle { board: board.into() }))
        },
    },
    RestorePost {
        name: "restore-post",
        usage: "Usage: restore-post <post-S/N>",
        summary: "moderators: bring a post back from the recycle bin (same S/N, comments kept)",
        transport: Tcp,
        parse: |a| {
            let [post] = a.exact()?;
            Some(Command::RestorePost(RestorePost { post: post_id(post)? }))
        },
    },
    PinPost {
        name: "pin-post",
        usage: "Usage: pin-post <post-S/N>",
        summary: "moderators: list a post first (at most 5 per board)",
        transport: Tcp,
        parse: |a| {
            let [post] = a.exact()?;
            Some(Command::PinPost(PinPost { post: post_id(post)? }))
        },
    },
    UnpinPost {
        name: "unpin-post",
        usage: "Usage: unpin-post <post-S/N>",
        summary: "moderators: stop listing a post first",
        transport: Tcp,
        parse: |a| {
            let [post] = a.exact()?;
            Some(Command::UnpinPost(UnpinPost { post: post_id(post)? }))
        },
    },
    PostHistory {
        name: "post-history",
        usage: "Usage: post-history <post-S/N>",
        summary: "every revision of a post (its author and the board's moderators)",
        transport: Tcp,
        parse: |a| {
            let [post] = a.exact()?;
            Some(Command::PostHistory(PostHistory { post: post_id(post)? }))
        },
    },
    ModLog {
        name: "mod-log",
        usage: "Usage: mod-log <board> [<n>]",
        summary: "moderators: the latest n (20) moderator actions on the board",
        transport: Tcp,
        parse: |a| {
            let (board, rows) = match a.words()[..] {
                [board] => (board, 20),
                [board, n] => (board, community::small_number(n).filter(|n| *n > 0)? as u64),
                _ => return None,
            };
            Some(Command::ModLog(ModLog { board: board.into(), rows }))
        },
    },
    Report {
        name: "report",
        usage: "Usage: report <post-S/N> <reason>",
        summary: "tell the board's moderators about a post (10 a day)",
        transport: Tcp,
        parse: |a| {
            let (post, reason) = a.first_and_rest()?;
            Some(Command::Report(Report { post: post_id(post)?, reason: clean_text(reason) }))
        },
    },
    ListReport {
        name: "list-report",
        usage: "Usage: list-report <board> [--all]",
        summary: "moderators: the open reports on the board (--all: resolved ones too)",
        transport: Tcp,
        parse: |a| {
            let (board, all) = match a.words()[..] {
                [board] => (board, false),
                [board, "--all"] => (board, true),
                _ => return None,
            };
            Some(Command::ListReport(ListReport { board: board.into(), all }))
        },
    },
    ResolveReport {
        name: "resolve-report",
        usage: "Usage: resolve-report <id> accept|reject [<note>]",
        summary: "moderators: close a report",
        transport: Tcp,
        parse: |a| {
            let words = a.words();
            let (&[id, verdict], _) = words.split_first_chunk::<2>()?;
            let accept = match verdict {
                "accept" => true,
                "reject" => false,
                _ => return None,
            };
            let note = match a.words_and_rest::<2>() {
                Some((_, note)) => clean_text(note),
                None => String::new(),
            };
            Some(Command::ResolveReport(ResolveReport { report: post_id(id)?, accept, note }))
        },
    },
    Suspend {
        name: "suspend",
        usage: "Usage: suspend <user> <days> <reason>",
        summary: "sysops: keep a user from logging in for 1-3650 days",
        transport: Tcp,
        parse: |a| {
            let ([user, days], reason) = a.words_and_rest()?;
            let days = community::days(days)?;
            Some(Command::Suspend(Suspend { user: user.into(), days, reason: clean_text(reason) }))
        },
    },
    Unsuspend {
        name: "unsuspend",
        usage: "Usage: unsuspend <user>",
        summary: "sysops: end a suspension",
        transport: Tcp,
        parse: |a| {
            let [user] = a.exact()?;
            Some(Command::Unsuspend(Unsuspend { user: user.into() }))
        },
    },
    PurgeUserPosts {
        name: "purge-user-posts",
        usage: "Usage: purge-user-posts <user> <reason>",
        summary: "sysops: move every post of a user to the recycle bin",
        transport: Tcp,
        parse: |a| {
            let (user, reason) = a.first_and_rest()?;
            Some(Command::PurgeUserPosts(PurgeUserPosts { user: user.into(), reason: clean_text(reason) }))
        },
    },
    // Social (who is online, messages, shared accounts, mail): rows here,
    // types in `social.rs`.
    ListOnline {
        name: "list-online",
        usage: "Usage: list-online",
        summary: "list who is logged in, from where, and for how long idle",
        transport: Tcp,
        parse: |a| a.none(Command::ListOnline(ListOnline)),
    },
    Tell {
        name: "tell",
        usage: "Usage: tell <username> <message>",
        summary: "send a message to a user's screen (kept until the next login if offline)",
        transport: Tcp,
        parse: |a| social::tell(a).map(Command::Tell),
    },
    Yell {
        name: "yell",
        usage: "Usage: yell <message>",
        summary: "send a message to everybody online",
        transport: Tcp,
        parse: |a| social::message(a).map(|message| Command::Yell(Yell { message })),
    },
    Mute {
        name: "mute",
        usage: "Usage: mute",
        summary: "receive no messages (kept across logins)",
        transport: Tcp,
        parse: |a| a.none(Command::Mute(Mute)),
    },
    Unmute {
        name: "unmute",
        usage: "Usage: unmute",
        summary: "receive messages again",
        transport: Tcp,
        parse: |a| a.none(Command::Unmute(Unmute)),
    },
    ShowAccounts {
        name: "show-accounts",
        usage: "Usage: show-accounts",
        summary: "show the balances of the shared accounts",
        transport: Tcp,
        parse: |a| a.none(Command::ShowAccounts(ShowAccounts)),
    },
    Deposit {
        name: "deposit",
        usage: "Usage: deposit <account> <money>",
        summary: "put money into a shared account",
        transport: Tcp,
        parse: |a| {
            let [account, money] = a.exact()?;
            Some(Command::Deposit(Deposit { account: account.into(), money: money.into() }))
        },
    },
    Withdraw {
        name: "withdraw",
        usage: "Usage: withdraw <account> <money>",
        summary: "take money out of a shared account",
        transport: Tcp,
        parse: |a| {
            let [account, money] = a.exact()?;
            Some(Command::Withdraw(Withdraw { account: account.into(), money: money.into() }))
        },
    },
    MailTo {
        name: "mail-to",
        usage: "Usage: mail-to <username> --subject <subject> --content <content>",
        summary: "send a mail (<br> in content is a line break)",
        transport: Tcp,
        parse: |a| social::mail_to(a).map(Command::MailTo),
    },
    ListMail {
        name: "list-mail",
        usage: "Usage: list-mail",
        summary: "list your mailbox, oldest first",
        transport: Tcp,
        parse: |a| a.none(Command::ListMail(ListMail)),
    },
    RetrMail {
        name: "retr-mail",
        usage: "Usage: retr-mail <mail#>",
        summary: "read a mail",
        transport: Tcp,
        parse: |a| {
            let [mail] = a.exact()?;
            Some(Command::RetrMail(RetrMail { mail: social::mail_number(mail)? }))
        },
    },
    DeleteMail {
        name: "delete-mail",
        usage: "Usage: delete-mail <mail#>",
        summary: "delete a mail (later mails move up by one)",
        transport: Tcp,
        parse: |a| {
            let [mail] = a.exact()?;
            Some(Command::DeleteMail(DeleteMail { mail: social::mail_number(mail)? }))
        },
    },

    // Search and subscriptions: rows here, types in `search.rs`.
    Search {
        name: "search",
        usage: "Usage: search <words>",
        summary: "find posts containing every word, newest first",
        transport: Tcp,
        parse: |a| Some(Command::Search(search::parse_search(a)?)),
    },
    Subscribe {
        name: "subscribe",
        usage: "Usage: subscribe --board <board-name> --keyword <keyword>",
        summary: "be told of new posts on a board (or by an author: --author <author-name>) with keyword in the title",
        transport: Tcp,
        parse: |a| Some(Command::Subscribe(search::parse_subscribe(a)?)),
    },
    Unsubscribe {
        name: "unsubscribe",
        usage: "Usage: unsubscribe --board <board-name>",
        summary: "stop following a board (or --author <author-name>), every keyword of it",
        transport: Tcp,
        parse: |a| Some(Command::Unsubscribe(search::parse_unsubscribe(a)?)),
    },
    ListSub {
        name: "list-sub",
        usage: "Usage: list-sub",
        summary: "list your subscriptions",
        transport: Tcp,
        parse: |a| a.none(Command::ListSub(ListSub)),
    },

    // Files over UDP: rows here, types in `files.rs`.
    GetFileList {
        name: "get-file-list",
        usage: "Usage: get-file-list",
        summary: "list the files everyone shares",
        transport: Tcp,
        parse: |a| a.none(Command::GetFileList(GetFileList)),
    },
    SendFile {
        name: "send-file",
        usage: "Usage: send-file <path>...",
        missing: "No file to send.",
        summary: "upload files from your machine (over UDP)",
        transport: TcpClientOnly,
        parse: |a| {
            let paths: Vec<String> = a.words().into_iter().map(str::to_owned).collect();
            (!paths.is_empty()).then_some(Command::SendFile(SendFile { paths }))
        },
    },
    GetFile {
        name: "get-file",
        usage: "Usage: get-file <file-name>...",
        summary: "download files into the current directory (over UDP)",
        transport: TcpClientOnly,
        parse: |a| {
            let names: Vec<String> = a.words().into_iter().map(str::to_owned).collect();
            (!names.is_empty()).then_some(Command::GetFile(GetFile { names }))
        },
    },
}

impl Command {
    /// Parses one command line (without its line ending).
    pub fn parse(line: &str) -> Result<Command, ParseError> {
        let line = line.trim();
        let (name, rest) = match line.find(char::is_whitespace) {
            Some(i) => (&line[..i], &line[i..]),
            None => (line, ""),
        };
        if name.is_empty() {
            return Err(ParseError::Empty);
        }
        let spec = spec(name).ok_or_else(|| ParseError::Unknown(name.to_owned()))?;
        (spec.parse)(&Args { rest })
            .ok_or_else(|| ParseError::Usage(search::usage_variant(spec.name, rest).unwrap_or(spec.missing)))
    }
}

/// Looks a command up by name.
pub fn spec(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// The `help` text: one line per command, usage then summary, aligned.
pub fn help_text() -> String {
    let rows: Vec<Vec<String>> =
        COMMANDS.iter().map(|c| vec![c.usage.trim_start_matches("Usage: ").to_owned(), c.summary.to_owned()]).collect();
    let mut text = crate::table::format_table(&["Command", "What it does"], &rows);
    // Not BBS-prompt commands, so not in the table: typed inside a room.
    text.push_str(
        "\nInside a chatroom every line is a message, except leave-chatroom (leave; the owner closes the room)\n\
         and detach (the owner only: back to the BBS, the room keeps running).",
    );
    text
}

/// The arguments after the command word, as typed.
struct Args<'a> {
    rest: &'a str,
}

/// Words before the first flag, and the text after each flag.
struct Flags<'a> {
    positional: Vec<&'a str>,
    title: Option<&'a str>,
    content: Option<&'a str>,
}

impl<'a> Args<'a> {
    fn words(&self) -> Vec<&'a str> {
        self.rest.split_whitespace().collect()
    }

    /// Exactly `N` words.
    fn exact<const N: usize>(&self) -> Option<[&'a str; N]> {
        exact(&self.words())
    }

    /// No arguments at all.
    fn none(&self, command: Command) -> Option<Command> {
        self.rest.trim().is_empty().then_some(command)
    }

    /// `N` words, then at least one more word taken as typed.
    fn words_and_rest<const N: usize>(&self) -> Option<([&'a str; N], &'a str)> {
        let mut rest = self.rest.trim_start();
        let mut words = [""; N];
        for word in &mut words {
            let end = rest.find(char::is_whitespace)?;
            *word = &rest[..end];
            rest = rest[end..].trim_start();
        }
        let text = rest.trim();
        (!text.is_empty()).then_some((words, text))
    }

    /// Splits at the whole word `flag`: the text before it, and the text
    /// after it (`None` if empty). `None` when the flag is not there.
    fn split_at_flag(&self, flag: &str) -> Option<(&'a str, Option<&'a str>)> {
        let rest = self.rest;
        let mut offset = 0;
        for word in rest.split_whitespace() {
            let start = offset + rest[offset..].find(word).expect("word comes from rest");
            offset = start + word.len();
            if word == flag {
                let text = rest[offset..].trim();
                return Some((&rest[..start], (!text.is_empty()).then_some(text)));
            }
        }
        None
    }

    /// One word, then at least one more word taken as typed.
    fn first_and_rest(&self) -> Option<(&'a str, &'a str)> {
        let rest = self.rest.trim_start();
        let end = rest.find(char::is_whitespace)?;
        let text = rest[end..].trim();
        (!text.is_empty()).then_some((&rest[..end], text))
    }

    /// Splits at the `--title` and `--content` flags. `None` when a flag is
    /// repeated or has no text after it.
    fn flags(&self) -> Option<Flags<'a>> {
        let rest = self.rest;
        // Byte ranges of every whole-word flag, in order.
        let mut marks: Vec<(usize, usize, bool)> = Vec::new();
        let mut offset = 0;
        for word in rest.split_whitespace() {
            let start = offset + rest[offset..].find(word).expect("word comes from rest");
            offset = start + word.len();
            match word {
                "--title" => marks.push((start, offset, true)),
                "--content" => marks.push((start, offset, false)),
                _ => {}
            }
        }
        let first = marks.first().map_or(rest.len(), |m| m.0);
        let mut flags = Flags { positional: rest[..first].split_whitespace().collect(), title: None, content: None };
        for (i, &(_, end, is_title)) in marks.iter().enumerate() {
            let next = marks.get(i + 1).map_or(rest.len(), |m| m.0);
            let text = rest[end..next].trim();
            let slot = if is_title { &mut flags.title } else { &mut flags.content };
            if text.is_empty() || slot.is_some() {
                return None;
            }
            *slot = Some(text);
        }
        Some(flags)
    }
}

fn exact<'a, const N: usize>(words: &[&'a str]) -> Option<[&'a str; N]> {
    words.try_into().ok()
}

fn post_id(word: &str) -> Option<PostId> {
    // Digits only: "+3" or " 3" are not serial numbers a person types.
    if word.bytes().all(|b| b.is_ascii_digit()) {
        word.parse().ok()
    } else {
        None
    }
}

/// Removes control characters, so stored text cannot carry terminal escape
/// sequences or rewrite other people's screens.
pub fn clean_text(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// Post content: `<br>` becomes a line break, other control characters go.
pub fn content_text(text: &str) -> String {
    clean_text(text).replace("<br>", "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_post_takes_text_as_typed_in_either_order() {
        let c =
            Command::parse("create-post NP_HW2 --title TA  About NP HW2 --content NP project2<br>Make a BBS").unwrap();
        assert_eq!(
            c,
            Command::CreatePost(CreatePost {
                board: "NP_HW2".into(),
                title: "TA  About NP HW2".into(),
                content: "NP project2\nMake a BBS".into(),
            })
        );
        let c = Command::parse("create-post b --content x y --title t").unwrap();
        assert_eq!(c, Command::CreatePost(CreatePost { board: "b".into(), title: "t".into(), content: "x y".into() }));
    }

    #[test]
    fn malformed_arguments_give_the_usage_answer() {
        let cases = [
            ("register a b", "Usage: register <username> <email> <password>"),
            ("register a b c d", "Usage: register <username> <email> <password>"),
            ("login a", "Usage: login <username> <password>"),
            ("create-board", "Usage: create-board <name>"),
            ("create-post b --title t", "Usage: create-post <board-name> --title <title> --content <content>"),
            (
                "create-post --title t --content c",
                "Usage: create-post <board-name> --title <title> --content <content>",
            ),
            (
                "create-post b --title --content c",
                "Usage: create-post <board-name> --title <title> --content <content>",
            ),
            (
                "create-post b --title a --title b --content c",
                "Usage: create-post <board-name> --title <title> --content <content>",
            ),
            ("list-post", "Usage: list-post <board-name>"),
            ("read x", "Usage: read <post-S/N>"),
            ("read -1", "Usage: read <post-S/N>"),
            ("delete-post", "Usage: delete-post <post-S/N>"),
            ("update-post 1", "Usage: update-post <post-S/N> --title/content <new>"),
            ("update-post 1 --title a --content b", "Usage: update-post <post-S/N> --title/content <new>"),
            ("comment 1", "Usage: comment <post-S/N> <comment>"),
            ("create-chatroom 0", "Usage: create-chatroom <port>"),
            ("create-chatroom 70000", "Usage: create-chatroom <port>"),
            ("logout now", "Usage: logout"),
            ("send-file", "No file to send."),
            ("get-file   ", "Usage: get-file <file-name>..."),
            ("get-file-list x", "Usage: get-file-list"),
        ];
        for (line, usage) in cases {
            assert_eq!(Command::parse(line), Err(ParseError::Usage(usage)), "{line}");
        }
    }

    #[test]
    fn moderation_commands_take_their_reasons_as_typed_and_check_their_numbers() {
        assert_eq!(
            Command::parse("ban b bob 7  posting  spam ").unwrap(),
            Command::Ban(Ban { board: "b".into(), user: "bob".into(), days: 7, reason: "posting  spam".into() })
        );
        for line in ["ban b bob 0 x", "ban b bob 3651 x", "ban b bob 7", "ban b bob +7 x"] {
            assert_eq!(Command::parse(line), Err(ParseError::Usage("Usage: ban <board> <user> <days> <reason>")));
        }
        assert_eq!(
            Command::parse("delete-post 3 --reason off  topic").unwrap(),
            Command::DeletePost(DeletePost { post: 3, reason: Some("off  topic".into()) })
        );
        assert_eq!(Command::parse("delete-post 3").unwrap(), Command::DeletePost(DeletePost { post: 3, reason: None }));
        for line in ["delete-post 3 --reason", "delete-post --reason x", "delete-post 3 4 --reason x"] {
            assert_eq!(Command::parse(line), Err(ParseError::Usage("Usage: delete-post <post-S/N>")), "{line}");
        }
        assert_eq!(
            Command::parse("set-board b --push-interval 5").unwrap(),
            Command::SetBoard(SetBoard { board: "b".into(), setting: BoardSetting::PushInterval(5) })
        );
        assert!(Command::parse("set-board b --push-interval 4").is_err());
        assert!(Command::parse("set-board b --no-boo on --min-days 3").is_err());
        assert_eq!(
            Command::parse("resolve-report 4 reject not  spam").unwrap(),
            Command::ResolveReport(ResolveReport { report: 4, accept: false, note: "not  spam".into() })
        );
        assert_eq!(
            Command::parse("resolve-report 4 accept").unwrap(),
            Command::ResolveReport(ResolveReport { report: 4, accept: true, note: String::new() })
        );
        assert_eq!(Command::parse("mod-log b").unwrap(), Command::ModLog(ModLog { board: "b".into(), rows: 20 }));
        assert_eq!(
            Command::parse("list-report b --all").unwrap(),
            Command::ListReport(ListReport { board: "b".into(), all: true })
        );
    }

    #[test]
    fn unknown_and_empty_lines() {
        assert_eq!(Command::parse("   "), Err(ParseError::Empty));
        assert_eq!(Command::parse("hello there").unwrap_err().to_string(), "Unknown command: hello");
    }

    #[test]
    fn comment_keeps_inner_spacing_and_strips_control_characters() {
        assert_eq!(
            Command::parse("comment 4  Can  extend\x1b[2J? ").unwrap(),
            Command::Comment(Comment { post: 4, text: "Can  extend[2J?".into() })
        );
    }

    #[test]
    fn every_command_has_a_table_row_with_its_usage() {
        for spec in COMMANDS {
            assert!(spec.usage.starts_with(&format!("Usage: {}", spec.name)));
        }
        assert_eq!(Command::Help(Help).spec().name, "help");
        assert_eq!(Command::ListChatroom(ListChatroom).spec().name, "list-chatroom");
        for spec in COMMANDS {
            let example = spec.usage.trim_start_matches("Usage: ");
            if let Ok(command) = Command::parse(example) {
                assert_eq!(command.spec().name, spec.name);
            }
        }
        let help = help_text();
        for spec in COMMANDS {
            assert!(help.contains(spec.usage.trim_start_matches("Usage: ")), "{}", spec.name);
        }
        assert!(help.contains("leave-chatroom") && help.contains("detach"));
    }
}
