//! The client's main loop at the BBS prompt: read a line, send it the way
//! spec §2 says (TCP, UDP or handled here), print exactly the answer; and
//! the chat mode of spec §7, where every typed line is a message.

use std::path::Path;

use bbs_protocol::answer::{self, CREATE_ROOM_FIRST, LOGIN_FIRST, RESTART_ROOM_FIRST, ROOM_CLOSED, WELCOME_BACK};
use bbs_protocol::chat::{self, RoomKey};
use bbs_protocol::command::files::{name_of_path, valid_file_name};
use bbs_protocol::{ClientFrame, Command, Event, ParseError, Transport, BANNER, PROMPT};
use tokio::net::TcpListener;

use crate::files;
use crate::host::{clock, too_long_message, History, Host, HostLimits};
use crate::input::{Input, Lines};
use crate::link::{Link, LinkError, Unasked};
use crate::member::Membership;
use crate::udp::UdpLink;

/// The chatroom banner (spec §7).
pub const CHAT_BANNER: &str = "*****************************\n\
                               ** Welcome to the chatroom **\n\
                               *****************************";

/// How often the client proves it is alive to the server while nothing
/// else goes over its connection: in a chatroom, or at the prompt with its
/// own room running. The server closes connections idle for its idle
/// timeout, and an owner's closed connection closes the room in the
/// registry; an empty line resets that timer and costs nothing.
/// `BBS_KEEPALIVE_SECS` overrides it, for a server whose idle timeout is
/// shorter than this (and for tests).
const KEEPALIVE: std::time::Duration = std::time::Duration::from_secs(120);

fn keepalive_interval() -> std::time::Duration {
    std::env::var("BBS_KEEPALIVE_SECS")
        .ok()
        .and_then(|secs| secs.parse::<f64>().ok())
        .filter(|secs| secs.is_finite() && *secs > 0.0)
        .map_or(KEEPALIVE, std::time::Duration::from_secs_f64)
}

/// Everything one running client holds.
pub struct App {
    link: Link,
    udp: UdpLink,
    lines: Lines,
    /// The login token for UDP commands; never shown.
    token: Option<String>,
    /// Who is logged in on this client.
    username: Option<String>,
    /// The chatroom this client hosts (or hosted, keeping its history).
    room: OwnRoom,
    limits: HostLimits,
    keepalive: tokio::time::Interval,
}

/// This client's own chatroom.
enum OwnRoom {
    None,
    Running {
        owner: String,
        host: Host,
    },
    /// Closed by `leave-chatroom`; the history waits for `restart-chatroom`.
    Closed {
        owner: String,
        history: History,
    },
}

/// How a stay in a chatroom ended.
enum Stay {
    /// Back at the BBS prompt.
    Back,
    /// The server closed the connection (its reason is on the screen).
    ServerClosed,
    /// The input ended inside the room: the client ends.
    InputEnded,
}

/// Why the client stopped other than by `exit` or the end of input.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error(transparent)]
    Udp(#[from] crate::udp::UdpError),
}

impl App {
    pub async fn connect(host: &str, port: u16) -> Result<App, AppError> {
        let link = Link::connect(host, port).await?;
        let udp = UdpLink::new(link.local.ip(), link.server).await?;
        Ok(App {
            link,
            udp,
            lines: Lines::stdin(),
            token: None,
            username: None,
            room: OwnRoom::None,
            limits: HostLimits::default(),
            keepalive: keepalive_timer(),
        })
    }

    /// Runs until `exit`, the end of input, or a lost connection.
    pub async fn run(mut self) -> Result<(), AppError> {
        self.lines.print(BANNER);
        loop {
            // At the prompt the client also reads its connection, so pushes
            // (and a server closing the connection) show at once.
            let hosting = matches!(self.room, OwnRoom::Running { .. });
            let input = tokio::select! {
                input = self.lines.next(PROMPT) => input,
                _ = self.keepalive.tick(), if hosting => {
                    self.keep_alive().await?;
                    continue;
                }
                unasked = self.link.unasked() => {
                    if self.show_unasked(unasked).await? {
                        continue;
                    }
                    return Ok(());
                }
            };
            self.keepalive.reset();
            let line = match input {
                Input::Line(line) => line,
                Input::End => "exit".to_owned(),
            };
            let command = match Command::parse(&line) {
                Ok(command) => command,
                Err(ParseError::Empty) => continue,
                Err(e) => {
                    self.lines.print(&e.to_string());
                    continue;
                }
            };
            let stay = match command {
                Command::Exit(_) => {
                    // Spec §4: the user's open chatroom is closed first.
                    self.close_own_room().await;
                    None
                }
                Command::CreateChatroom(_) | Command::RestartChatroom(_) => {
                    Some(self.open_own_room(line.trim()).await?)
                }
                Command::Attach(_) => Some(self.attach().await?),
                Command::JoinChatroom(ref join) if self.username.as_deref() == Some(join.owner.as_str()) => {
                    // Spec §7: joining one's own chatroom behaves as attach.
                    Some(self.attach().await?)
                }
                Command::JoinChatroom(_) => Some(self.join(line.trim()).await?),
                Command::SendFile(ref send) => {
                    self.send_files(&send.paths).await?;
                    continue;
                }
                Command::GetFile(ref get) => {
                    self.get_files(&get.names).await?;
                    continue;
                }
                _ => None,
            };
            match stay {
                Some(Stay::Back) => continue,
                Some(Stay::ServerClosed) => return Ok(()),
                Some(Stay::InputEnded) => {
                    self.close_own_room().await;
                    let _ = self.link.call("exit").await;
                    return Ok(());
                }
                None => {}
            }
            let answer = match command.spec().transport {
                Transport::Udp => match self.udp.request(self.token.as_deref(), line.trim()).await {
                    Ok(answer) => answer,
                    // A lost UDP answer is reported, and the prompt comes back.
                    Err(e) => format!("Error: {e}."),
                },
                Transport::Tcp | Transport::TcpClientOnly | Transport::Client => {
                    let reply = self.call(line.trim()).await?;
                    match reply.event {
                        Some(Event::LoggedIn { token, username }) => {
                            self.token = Some(token);
                            self.username = Some(username);
                        }
                        Some(Event::LoggedOut) => {
                            self.token = None;
                            self.username = None;
                        }
                        // `exit`, or the server closing the connection (it
                        // says why, e.g. after a long idle time).
                        Some(Event::Goodbye) => {
                            self.print_answer(&reply.text);
                            self.close_own_room().await;
                            return Ok(());
                        }
                        _ => {}
                    }
                    reply.text
                }
            };
            if !answer.is_empty() {
                self.lines.print(&answer);
            }
        }
    }

    /// `create-chatroom` / `restart-chatroom`: the server checks, the
    /// client binds the port, and only then is the room registered open.
    async fn open_own_room(&mut self, line: &str) -> Result<Stay, AppError> {
        let reply = self.call(line).await?;
        let Some(Event::ChatroomBind { port }) = reply.event else {
            self.print_answer(&reply.text);
            return Ok(Stay::Back);
        };
        let any = if self.link.local.is_ipv6() { "::" } else { "0.0.0.0" };
        let listener = match TcpListener::bind((any, port)).await {
            Ok(listener) => listener,
            Err(e) => {
                self.lines.print(&format!("Cannot open the chatroom on port {port}: {e}. Nothing was created."));
                return Ok(Stay::Back);
            }
        };
        let reply = self.link.request(&ClientFrame::ChatroomOpened).await?;
        let key = match &reply.event {
            Some(Event::ChatroomOpened { key, .. }) => RoomKey::from_hex(key),
            _ => None,
        };
        let (Some(key), Some(owner)) = (key, self.username.clone()) else {
            self.print_answer(&reply.text);
            return Ok(Stay::Back);
        };
        self.print_answer(&reply.text);
        // The history survives leave-chatroom + restart-chatroom (spec §7).
        let history = match std::mem::replace(&mut self.room, OwnRoom::None) {
            OwnRoom::Closed { owner: previous, history } if previous == owner => history,
            _ => History::default(),
        };
        let host = Host::start(listener, key, owner.clone(), history, self.limits.clone());
        self.room = OwnRoom::Running { owner, host };
        self.stay_in_own_room().await
    }

    /// `attach` (client only, spec §7).
    async fn attach(&mut self) -> Result<Stay, AppError> {
        let Some(user) = self.username.as_deref() else {
            self.lines.print(LOGIN_FIRST);
            return Ok(Stay::Back);
        };
        match &self.room {
            OwnRoom::Running { owner, .. } if owner == user => self.stay_in_own_room().await,
            OwnRoom::Closed { owner, .. } if owner == user => {
                self.lines.print(RESTART_ROOM_FIRST);
                Ok(Stay::Back)
            }
            _ => {
                self.lines.print(CREATE_ROOM_FIRST);
                Ok(Stay::Back)
            }
        }
    }

    /// The owner inside its own room until `detach`, `leave-chatroom` or
    /// the end of input.
    async fn stay_in_own_room(&mut self) -> Result<Stay, AppError> {
        let OwnRoom::Running { host, .. } = &self.room else { return Ok(Stay::Back) };
        let (records, mut screen) = host.attach().await;
        self.lines.print(CHAT_BANNER);
        for record in records {
            self.lines.print(&chat::neutralise(&record.display()));
        }
        loop {
            let OwnRoom::Running { host, .. } = &self.room else { return Ok(Stay::Back) };
            tokio::select! {
                input = self.lines.next("") => match input {
                    Input::End => return Ok(Stay::InputEnded),
                    Input::Line(line) => match line.trim() {
                        "leave-chatroom" => {
                            self.close_own_room().await;
                            self.lines.print(WELCOME_BACK);
                            return Ok(Stay::Back);
                        }
                        "detach" => {
                            host.detach();
                            self.lines.print(WELCOME_BACK);
                            return Ok(Stay::Back);
                        }
                        _ if line.len() > self.limits.max_text => {
                            self.lines.print(&chat::system_line(&clock(), &too_long_message(self.limits.max_text)));
                        }
                        _ => host.say(line),
                    },
                },
                Some(shown) = screen.recv() => self.lines.print(&chat::neutralise(&shown)),
                _ = self.keepalive.tick() => self.keep_alive().await?,
                unasked = self.link.unasked() => {
                    if !self.show_unasked(unasked).await? {
                        return Ok(Stay::ServerClosed);
                    }
                }
            }
        }
    }

    /// Sends one command line and returns its answer, first printing the
    /// pushes that arrived before it (in the order they came).
    async fn call(&mut self, line: &str) -> Result<bbs_protocol::Reply, AppError> {
        let reply = self.link.call(line).await?;
        for push in self.link.take_pushes() {
            self.lines.print(&screen_text(&push.text));
        }
        Ok(reply)
    }

    /// Tells the server this client is alive (see [`KEEPALIVE`]).
    async fn keep_alive(&mut self) -> Result<(), AppError> {
        self.link.request(&ClientFrame::Keepalive).await?;
        for push in self.link.take_pushes() {
            self.lines.print(&screen_text(&push.text));
        }
        Ok(())
    }

    /// Shows what the server sent unasked. `Ok(true)`: a push, shown above
    /// the line being typed; `Ok(false)`: the server closed the connection
    /// (its reason is shown, and this client's own room is closed, members
    /// told, as when the owner exits).
    async fn show_unasked(&mut self, unasked: Result<Unasked, LinkError>) -> Result<bool, AppError> {
        match unasked {
            Ok(Unasked::Push(push)) => {
                self.lines.print(&screen_text(&push.text));
                Ok(true)
            }
            Ok(Unasked::Closing(why)) => {
                self.lines.print(&screen_text(&why.text));
                self.close_own_room().await;
                Ok(false)
            }
            Err(e) => {
                self.close_own_room().await;
                Err(e.into())
            }
        }
    }

    /// Closes this client's running room, if any: the registry first (so
    /// nobody sees it open after being told it closed), then the members.
    async fn close_own_room(&mut self) {
        if let OwnRoom::Running { owner, host } = std::mem::replace(&mut self.room, OwnRoom::None) {
            let _ = self.link.request(&ClientFrame::ChatroomClosed).await;
            let history = host.close().await;
            self.room = OwnRoom::Closed { owner, history };
        }
    }

    /// `join-chatroom <name>` for someone else's room.
    async fn join(&mut self, line: &str) -> Result<Stay, AppError> {
        let reply = self.call(line).await?;
        let Some(Event::ChatroomTicket { address, port, ticket }) = reply.event else {
            self.print_answer(&reply.text);
            return Ok(Stay::Back);
        };
        let (mut membership, records) = match Membership::join(&address, port, *ticket).await {
            Ok(joined) => joined,
            Err(e) => {
                self.lines.print(&e.to_string());
                return Ok(Stay::Back);
            }
        };
        self.lines.print(CHAT_BANNER);
        for record in records {
            self.lines.print(&chat::neutralise(&record.display()));
        }
        loop {
            tokio::select! {
                input = self.lines.next("") => match input {
                    Input::End => {
                        membership.leave().await;
                        return Ok(Stay::InputEnded);
                    }
                    Input::Line(line) => match line.trim() {
                        "leave-chatroom" => {
                            membership.leave().await;
                            self.lines.print(WELCOME_BACK);
                            return Ok(Stay::Back);
                        }
                        _ if line.len() > self.limits.max_text => {
                            self.lines.print(&chat::system_line(&clock(), &too_long_message(self.limits.max_text)));
                        }
                        _ if line.trim().is_empty() => {}
                        _ => membership.send(&chat::MemberFrame::Say { text: line }).await,
                    },
                },
                _ = self.keepalive.tick() => self.keep_alive().await?,
                unasked = self.link.unasked() => {
                    if !self.show_unasked(unasked).await? {
                        membership.leave().await;
                        return Ok(Stay::ServerClosed);
                    }
                }
                frame = membership.next() => {
                    use chat::HostFrame;
                    match frame {
                        Some(HostFrame::Message { record }) => self.lines.print(&chat::neutralise(&record.display())),
                        Some(HostFrame::System { time, text }) => {
                            self.lines.print(&chat::neutralise(&chat::system_line(&time, &text)));
                        }
                        Some(HostFrame::Closed { time }) => {
                            self.room_closed(&time);
                            return Ok(Stay::Back);
                        }
                        Some(HostFrame::Welcome { .. }) => {}
                        Some(HostFrame::Refused { reason }) => {
                            self.lines.print(&chat::neutralise(&reason));
                            self.lines.print(WELCOME_BACK);
                            return Ok(Stay::Back);
                        }
                        // The owner's client died: spec §7, as on leave-chatroom.
                        None => {
                            self.room_closed(&clock());
                            return Ok(Stay::Back);
                        }
                    }
                }
            }
        }
    }

    /// `send-file <path>...`: each file in turn, each answer printed as
    /// it comes.
    async fn send_files(&mut self, paths: &[String]) -> Result<(), AppError> {
        if self.username.is_none() {
            self.lines.print(LOGIN_FIRST);
            return Ok(());
        }
        for path in paths {
            let name = name_of_path(path).to_owned();
            if !valid_file_name(&name) {
                self.lines.print(&answer::invalid_file_name(&name));
                continue;
            }
            let file = match std::fs::File::open(path) {
                Ok(file) if file.metadata().is_ok_and(|m| m.is_file()) => file,
                _ => {
                    self.lines.print(&answer::no_such_local_file(&name));
                    continue;
                }
            };
            let size = file.metadata().map(|m| m.len()).unwrap_or(0);
            // The SHA-256 is computed while the bytes go out (the server
            // gets it at the end); the request names the local file by a
            // key that is quick to compute.
            let resume_key = match files::resume_key_of(&file).await {
                Ok(key) => key,
                Err(e) => {
                    self.lines.print(&answer::local_file_error(&name, &e.to_string()));
                    continue;
                }
            };
            let reply = self.request(&ClientFrame::SendFile { name: name.clone(), size, resume_key }).await?;
            let Some(Event::Transfer { id, port, .. }) = reply.event else {
                self.print_answer(&reply.text);
                continue;
            };
            let Some(transfer_id) = parse_id(&id) else { continue };
            let hashing = match files::Hashing::start(&file, size) {
                Ok(hashing) => hashing,
                Err(e) => {
                    let _ = self.request(&ClientFrame::TransferDone { id }).await?;
                    self.lines.print(&answer::local_file_error(&name, &e.to_string()));
                    continue;
                }
            };
            let target = files::udp_target(self.link.server, port);
            let bar = files::progress_bar(&name, size, self.lines.interactive());
            let outcome = files::upload(&file, size, transfer_id, self.link.local, target, &bar, hashing).await;
            bar.finish_and_clear();
            let done = self.request(&ClientFrame::TransferDone { id }).await?;
            match outcome {
                // The server says how it ended (sent, damaged, or where it
                // stopped).
                Ok(()) | Err(files::TransferError::Damaged) => self.print_answer(&done.text),
                Err(files::TransferError::Stalled) => {
                    self.lines.print(&answer::transfer_stalled(&name, files::STALL.as_secs()));
                }
                Err(files::TransferError::Io(e)) => {
                    self.lines.print(&answer::local_file_error(&name, &e.to_string()));
                }
            }
        }
        Ok(())
    }

    /// `get-file <name>...`: each file in turn into the current directory.
    async fn get_files(&mut self, names: &[String]) -> Result<(), AppError> {
        if self.username.is_none() {
            self.lines.print(LOGIN_FIRST);
            return Ok(());
        }
        for name in names {
            if !valid_file_name(name) {
                self.lines.print(&answer::invalid_file_name(name));
                continue;
            }
            let reply = self.request(&ClientFrame::GetFile { name: name.clone() }).await?;
            let Some(Event::Transfer { id, port, size, sha256, .. }) = reply.event else {
                self.print_answer(&reply.text);
                continue;
            };
            let (Some(transfer_id), true) = (parse_id(&id), sha256.len() == 64) else { continue };
            let target = files::udp_target(self.link.server, port);
            let partial = files::partial_download(Path::new("."), &sha256);
            let bar = files::progress_bar(name, size, self.lines.interactive());
            let outcome = files::download(&partial, size, &sha256, transfer_id, self.link.local, target, &bar).await;
            bar.finish_and_clear();
            let _ = self.request(&ClientFrame::TransferDone { id }).await?;
            let text = match outcome.map(|()| std::fs::rename(&partial, name)) {
                Ok(Ok(())) => answer::file_received(name, size),
                Ok(Err(e)) => answer::local_file_error(name, &e.to_string()),
                Err(files::TransferError::Damaged) => answer::transfer_damaged(name),
                Err(files::TransferError::Stalled) => answer::transfer_stalled(name, files::STALL.as_secs()),
                Err(files::TransferError::Io(e)) => answer::local_file_error(name, &e.to_string()),
            };
            self.lines.print(&text);
        }
        Ok(())
    }

    /// Sends one of the client's own requests; prints the pushes that came
    /// before its answer.
    async fn request(&mut self, frame: &ClientFrame) -> Result<bbs_protocol::Reply, AppError> {
        let reply = self.link.request(frame).await?;
        for push in self.link.take_pushes() {
            self.lines.print(&screen_text(&push.text));
        }
        Ok(reply)
    }

    fn room_closed(&self, time: &str) {
        self.lines.print(&chat::neutralise(&chat::system_line(time, ROOM_CLOSED)));
        self.lines.print(WELCOME_BACK);
    }

    fn print_answer(&self, text: &str) {
        if !text.is_empty() {
            self.lines.print(text);
        }
    }
}

/// A transfer id from the server: 16 bytes in hex.
fn parse_id(id: &str) -> Option<bbs_protocol::transfer::TransferId> {
    hex::decode(id).ok()?.try_into().ok()
}

/// Text from the server for the screen: each line neutralised (no escape
/// sequence from another user acts on this terminal), line breaks kept.
fn screen_text(text: &str) -> String {
    text.split('\n').map(chat::neutralise).collect::<Vec<_>>().join("\n")
}

fn keepalive_timer() -> tokio::time::Interval {
    let every = keepalive_interval();
    let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    timer
}
