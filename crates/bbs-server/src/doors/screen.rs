//! The full-screen (PTT-style) session: a door's terminal joined to a
//! [`bbs_screen::App`]. Whatever door the terminal came through (telnet,
//! an SSH pty, the browser), it arrives here as [`ScreenEvent`]s and
//! leaves as byte chunks.
//!
//! Reading goes straight to the store; every change (login, posts,
//! pushes, comments, mail, messages) goes through [`cmd::execute`], the
//! same command layer as the line protocol, so every rule, limit, answer
//! and push is the one a telnet user of the line interface gets. The
//! session is a [`Session`] like any other: `login` opens it through
//! `open_session`, and `end_session` tears it down once, however the
//! terminal goes.
//!
//! Cost per session: the app's state, one frame (what the terminal
//! shows, for the diff), and a bounded output queue. Events are applied
//! in batches and the screen is drawn once per batch, and only when the
//! output queue has room: a terminal that reads slowly gets fewer, larger
//! diffs and slows nobody else; one that stops reading is closed by its
//! door's write timeout.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bbs_protocol::answer;
use bbs_protocol::command::{BooPost, Comment, CreatePost, Login, MailTo, PushPost, Register, Tell};
use bbs_protocol::Command;
use bbs_screen::app::{Article, BoardItem, CommentKind, CommentLine, ListRow, PostItem, Target};
use bbs_screen::{App, Buffer, Data, Effect, InputParser, Renderer};
use bbs_storage::{CommentKind as StoredKind, Store, Timestamp};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::cmd::{self, end_session, open_session, Caller, Via, MAX_SEARCH_HITS};
use crate::session::Session;
use crate::state::Shared;
use crate::telemetry::{self, Door};

/// What a door's terminal reports.
#[derive(Debug)]
pub(crate) enum ScreenEvent {
    /// Bytes typed (keys, escape sequences, pastes).
    Input(Vec<u8>),
    /// The window is now this size.
    Resize { columns: u16, rows: u16 },
    /// No more input will come.
    InputClosed,
}

/// Frames waiting for the door to write; the session draws only when
/// there is room, so a slow terminal holds at most this many.
pub(crate) const OUTPUT_QUEUE: usize = 2;

/// Switches to the alternate screen and turns bracketed paste on.
const ENTER_SCREEN: &[u8] = b"\x1b[?1049h\x1b[?2004h";
/// Undoes [`ENTER_SCREEN`].
const LEAVE_SCREEN: &[u8] = b"\x1b[?2004l\x1b[?1049l";

/// How long a lone ESC waits for the rest of a sequence.
const ESCAPE_WAIT: Duration = Duration::from_millis(50);

/// Most inputs applied before the screen is drawn again.
const BATCH: usize = 64;

/// Posts a session remembers as read (beyond that it forgets them all:
/// the marks are a convenience, and the memory stays bounded).
const MAX_READ_MARKS: usize = 4096;

/// The name on the title bar.
const BBS_NAME: &str = "bbsd";

/// Terminal size assumed until the terminal says.
pub(crate) const DEFAULT_SIZE: (u16, u16) = (80, 24);

/// How a screen session starts.
pub(crate) struct ScreenStart {
    pub(crate) door: Door,
    /// A user the door authenticated (SSH): starts logged in.
    pub(crate) user: Option<String>,
    pub(crate) size: (u16, u16),
}

/// What the session remembers of the user's reading: posts are new if
/// they came after the session started (from its second on) and were not
/// opened since; one's own posts are read. Kept for the session only: the
/// store has no read marks.
struct Reading {
    since: Timestamp,
    read: HashSet<u64>,
}

impl Reading {
    fn is_unread(&self, id: u64, created_at: Timestamp) -> bool {
        created_at >= self.since && !self.read.contains(&id)
    }

    fn mark(&mut self, id: u64) {
        if self.read.len() >= MAX_READ_MARKS {
            self.read.clear();
        }
        self.read.insert(id);
    }
}

/// Runs one full-screen session until the user leaves, the terminal goes
/// or the server shuts down; `output` is dropped at the end, which tells
/// the door to close.
pub(crate) async fn run<S: Store>(
    shared: Arc<Shared<S>>,
    peer: SocketAddr,
    start: ScreenStart,
    mut events: mpsc::Receiver<ScreenEvent>,
    output: mpsc::Sender<Vec<u8>>,
    shutdown: watch::Receiver<bool>,
) {
    let _open = telemetry::session_opened(start.door);
    let (columns, rows) = start.size;
    let mut session = Session::Anonymous;
    let mut app = match &start.user {
        Some(name) => {
            let (logged_in, welcome) = open_session(&shared, name, peer).await;
            session = Session::LoggedIn(logged_in);
            App::logged_in(BBS_NAME, columns, rows, name, &welcome)
        }
        None => App::new(BBS_NAME, columns, rows),
    };
    let mut reading = Reading { since: unix_now(), read: HashSet::new() };
    let mut posts = shared.activity.subscribe();
    posts.mark_unchanged();
    let mut parser = InputParser::new();
    let mut renderer = Renderer::new();
    let mut dirty = true;
    let mut input_open = true;
    let idle_timeout = |session: &Session| match session {
        Session::LoggedIn(_) => shared.limits().idle_timeout_logged_in,
        _ => shared.limits().idle_timeout_anonymous,
    };
    let mut idle_deadline = Instant::now() + idle_timeout(&session);
    let mut inputs = Vec::new();
    let mut shutting_down = false;
    let mut entered = false;
    let mut farewell = None;
    let stopping = super::stopped(shutdown);
    tokio::pin!(stopping);
    'session: loop {
        tokio::select! {
            biased;
            () = &mut stopping => {
                shutting_down = true;
                break;
            }
            permit = output.reserve(), if dirty => {
                let Ok(permit) = permit else { break };
                let mut bytes = Vec::new();
                if app.take_redraw() {
                    renderer.invalidate();
                }
                if !entered {
                    // The alternate screen (the user's own screen comes back
                    // at the end) and bracketed paste.
                    bytes.extend_from_slice(ENTER_SCREEN);
                    entered = true;
                }
                // Drawn into a fresh frame, which the renderer keeps as
                // what the terminal shows (one frame per session between
                // draws).
                let (columns, rows) = app.size();
                let mut frame = Buffer::new(columns, rows);
                app.draw(&mut frame);
                renderer.render_owned(frame, &mut bytes);
                if !bytes.is_empty() {
                    permit.send(bytes);
                }
                dirty = false;
            }
            push = session.next_push(true), if session.has_inbox() => match push {
                Some(push) => {
                    app.message(&push.text);
                    dirty = true;
                }
                None => break,
            },
            event = events.recv(), if input_open => {
                let mut event = event;
                // Apply everything already here, then draw once.
                for _ in 0..BATCH {
                    match event {
                        Some(ScreenEvent::Input(bytes)) => parser.feed(&bytes, &mut inputs),
                        Some(ScreenEvent::Resize { columns, rows }) => {
                            app.resize(columns, rows);
                        }
                        Some(ScreenEvent::InputClosed) | None => {
                            input_open = false;
                            break;
                        }
                    }
                    event = match events.try_recv() {
                        Ok(next) => Some(next),
                        Err(mpsc::error::TryRecvError::Empty) => break,
                        Err(mpsc::error::TryRecvError::Disconnected) => None,
                    };
                }
                if !inputs.is_empty() {
                    idle_deadline = Instant::now() + idle_timeout(&session);
                    session.touch();
                }
                for input in inputs.drain(..) {
                    let effects = app.input(input);
                    if !perform(&shared, &mut session, peer, &mut app, &mut reading, effects).await {
                        break 'session;
                    }
                }
                if !input_open {
                    break;
                }
                dirty = true;
            }
            () = tokio::time::sleep(ESCAPE_WAIT), if parser.pending() => {
                parser.flush(&mut inputs);
                for input in inputs.drain(..) {
                    let effects = app.input(input);
                    if !perform(&shared, &mut session, peer, &mut app, &mut reading, effects).await {
                        break 'session;
                    }
                }
                dirty = true;
            }
            changed = posts.changed() => {
                if changed.is_err() {
                    continue;
                }
                let board = posts.borrow_and_update().board.clone();
                let effects = app.post_arrived(&board);
                if !effects.is_empty() {
                    perform(&shared, &mut session, peer, &mut app, &mut reading, effects).await;
                    dirty = true;
                }
            }
            () = tokio::time::sleep_until(idle_deadline) => {
                farewell = Some(answer::IDLE_CLOSE);
                break;
            }
        }
    }
    if shutting_down {
        farewell = Some(answer::SHUTTING_DOWN);
    }
    // Leave the terminal as it was (attributes reset, cursor shown, the
    // user's screen back), then say why the connection ends, if not asked.
    let mut last = b"\x1b[0m\x1b[?25h".to_vec();
    if entered {
        last.extend_from_slice(LEAVE_SCREEN);
    }
    if let Some(farewell) = farewell {
        last.extend_from_slice(format!("{farewell}\r\n").as_bytes());
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), output.send(last)).await;
    end_session(&shared, &mut session).await;
}

/// Carries out `effects` and everything they lead to; false when the user
/// asked to leave.
async fn perform<S: Store>(
    shared: &Shared<S>,
    session: &mut Session,
    peer: SocketAddr,
    app: &mut App,
    reading: &mut Reading,
    effects: Vec<Effect>,
) -> bool {
    let mut queue = std::collections::VecDeque::from(effects);
    while let Some(effect) = queue.pop_front() {
        if effect == Effect::Quit {
            return false;
        }
        if let Some(data) = effect_data(shared, session, peer, reading, effect).await {
            queue.extend(app.data(data));
        }
    }
    true
}

/// Runs one command through the command layer, as the line door would.
async fn command<S: Store>(shared: &Shared<S>, session: &mut Session, peer: SocketAddr, command: Command) -> String {
    let mut caller = Caller { session, peer, via: Via::Plain };
    cmd::execute(shared, &mut caller, command).await.text
}

/// `MM/DD` of a Unix time, as PTT's lists show dates.
fn short_date(at: Timestamp) -> String {
    chrono::DateTime::from_timestamp(at, 0).map(|t| t.format("%m/%d").to_string()).unwrap_or_default()
}

fn long_date(at: Timestamp) -> String {
    chrono::DateTime::from_timestamp(at, 0).map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
}

/// The data an effect yields (reads from the store, writes through the
/// command layer).
async fn effect_data<S: Store>(
    shared: &Shared<S>,
    session: &mut Session,
    peer: SocketAddr,
    reading: &mut Reading,
    effect: Effect,
) -> Option<Data> {
    let failed = |e: &dyn std::fmt::Display| {
        tracing::warn!(error = %e, "screen read failed");
        Some(Data::Answer("Server error: your request could not be completed. Please try again.".into()))
    };
    let user = session.user().map(|u| u.name.clone());
    match effect {
        Effect::Quit => None,
        Effect::Login { username, password } => {
            let text = command(shared, session, peer, Command::Login(Login { username, password })).await;
            Some(match session.user() {
                Some(user) => {
                    reading.since = unix_now();
                    Data::LoggedIn { user: user.name.clone(), notice: text }
                }
                None => Data::Answer(text),
            })
        }
        Effect::Register { username, email, password } => {
            let register = Register { username: username.clone(), email, password: password.clone() };
            let text = command(shared, session, peer, Command::Register(register)).await;
            if text != answer::REGISTERED {
                return Some(Data::Answer(text));
            }
            let text = command(shared, session, peer, Command::Login(Login { username, password })).await;
            Some(match session.user() {
                Some(user) => {
                    Data::LoggedIn { user: user.name.clone(), notice: format!("{}\n{text}", answer::REGISTERED) }
                }
                None => Data::Answer(text),
            })
        }
        Effect::LoadBoards => match shared.store.boards().await {
            Ok(boards) => Some(Data::Boards(
                boards
                    .into_iter()
                    .map(|b| {
                        let unread = shared.activity.latest(&b.name).is_some_and(|post| {
                            reading.is_unread(post.id, post.created_at) && user.as_deref() != Some(post.author.as_str())
                        });
                        BoardItem { index: b.index, name: b.name, moderator: b.moderator, unread }
                    })
                    .collect(),
            )),
            Err(e) => failed(&e),
        },
        Effect::LoadPosts { board } => {
            let posts = match shared.store.posts(&board).await {
                Ok(Some(posts)) => posts,
                Ok(None) => return Some(Data::Answer(answer::NO_SUCH_BOARD.into())),
                Err(e) => return failed(&e),
            };
            let counts: std::collections::HashMap<u64, i64> =
                shared.store.push_counts(&board).await.ok().flatten().unwrap_or_default().into_iter().collect();
            // Pinned posts lead, in the order they were pinned, as in `list-post`.
            let pins: Vec<u64> =
                shared.store.pinned_posts(&board).await.unwrap_or_default().into_iter().map(|p| p.id).collect();
            let mut posts: Vec<PostItem> = posts
                .into_iter()
                .map(|p| PostItem {
                    // One's own posts are read.
                    unread: reading.is_unread(p.id, p.created_at) && user.as_deref() != Some(p.author.as_str()),
                    pushes: counts.get(&p.id).copied().unwrap_or(0),
                    id: p.id,
                    title: p.title,
                    author: p.author,
                    date: short_date(p.created_at),
                    pinned: pins.contains(&p.id),
                })
                .collect();
            posts.sort_by_key(|p| pins.iter().position(|&pin| pin == p.id).unwrap_or(usize::MAX));
            Some(Data::Posts { board, posts })
        }
        Effect::LoadPost { id } => match shared.store.post(id).await {
            Ok(Some(post)) => {
                reading.mark(id);
                Some(Data::Article(Article {
                    id: post.id,
                    is_mail: false,
                    board: post.board,
                    author: post.author,
                    title: post.title,
                    date: long_date(post.created_at),
                    content: post.content,
                    comments: post
                        .comments
                        .into_iter()
                        .map(|c| CommentLine {
                            kind: match c.kind {
                                StoredKind::Push => CommentKind::Push,
                                StoredKind::Boo => CommentKind::Boo,
                                StoredKind::Comment => CommentKind::Arrow,
                            },
                            author: c.author,
                            text: c.text,
                        })
                        .collect(),
                }))
            }
            Ok(None) => Some(Data::Answer(answer::NO_SUCH_POST.into())),
            Err(e) => failed(&e),
        },
        Effect::LoadOnline => {
            let now = unix_now().max(0) as u64;
            let rows = shared
                .sessions
                .list()
                .into_iter()
                .map(|info| {
                    let idle = now.saturating_sub(info.last_command) / 60;
                    ListRow {
                        text: format!("{}  {:>4}m", bbs_screen::text::fit(&info.name, 20), idle),
                        target: Target::User(info.name),
                    }
                })
                .collect();
            Some(Data::Online(rows))
        }
        Effect::LoadMail => {
            let Some(user) = user else { return Some(Data::Answer(answer::LOGIN_FIRST.into())) };
            match shared.store.mails(&user).await {
                Ok(mails) => Some(Data::Mail(
                    mails
                        .into_iter()
                        .enumerate()
                        .map(|(i, m)| ListRow {
                            text: format!(
                                "{:>5}  {} {}  {}",
                                i + 1,
                                bbs_screen::text::fit(&m.from, 13),
                                short_date(m.sent_at),
                                m.subject
                            ),
                            target: Target::Mail(i as u64 + 1),
                        })
                        .collect(),
                )),
                Err(e) => failed(&e),
            }
        }
        Effect::ReadMail { number } => {
            let Some(user) = user else { return Some(Data::Answer(answer::LOGIN_FIRST.into())) };
            match shared.store.read_mail(&user, number).await {
                Ok(Some(mail)) => Some(Data::Article(Article {
                    id: number,
                    is_mail: true,
                    board: String::new(),
                    author: mail.from,
                    title: mail.subject,
                    date: long_date(mail.sent_at),
                    content: mail.content,
                    comments: Vec::new(),
                })),
                Ok(None) => Some(Data::Answer("No such mail.".into())),
                Err(e) => failed(&e),
            }
        }
        Effect::Search { words } => {
            // The limit the search command applies, with its answer.
            let list: Vec<String> = words.split_whitespace().map(str::to_owned).collect();
            let max = shared.limits().max_search_words;
            if list.len() > max {
                return Some(Data::Answer(answer::too_many_search_words(max)));
            }
            match shared.store.search(&list, MAX_SEARCH_HITS).await {
                Ok(hits) => Some(Data::SearchHits {
                    words,
                    rows: hits
                        .into_iter()
                        .map(|h| ListRow {
                            text: format!(
                                "{:>6}  {} {} {}",
                                h.id,
                                bbs_screen::text::fit(&h.board, 13),
                                bbs_screen::text::fit(&h.author, 13),
                                h.title
                            ),
                            target: Target::Post(h.id),
                        })
                        .collect(),
                }),
                Err(e) => failed(&e),
            }
        }
        Effect::Comment { post, kind, text } => {
            let command_for = match kind {
                CommentKind::Push => Command::PushPost(PushPost { post, text }),
                CommentKind::Boo => Command::BooPost(BooPost { post, text }),
                CommentKind::Arrow => Command::Comment(Comment { post, text }),
            };
            Some(Data::Answer(command(shared, session, peer, command_for).await))
        }
        Effect::SubmitPost { board, title, content } => {
            // The same bound as a `create-post` line: a post the line
            // interface could not take is not taken here either.
            let max = shared.limits().max_line;
            if title.len() + content.len() + board.len() + 40 > max {
                return Some(Data::Answer(answer::line_too_long(max)));
            }
            let post = CreatePost { board, title, content };
            Some(Data::Answer(command(shared, session, peer, Command::CreatePost(post)).await))
        }
        Effect::SubmitMail { to, subject, content } => {
            let max = shared.limits().max_line;
            if to.len() + subject.len() + content.len() + 40 > max {
                return Some(Data::Answer(answer::line_too_long(max)));
            }
            let mail = MailTo { to, subject, content };
            Some(Data::Answer(command(shared, session, peer, Command::MailTo(mail)).await))
        }
        Effect::Tell { to, message } => {
            Some(Data::Answer(command(shared, session, peer, Command::Tell(Tell { to, message })).await))
        }
    }
}

/// Unix time now, in seconds (as posts are stamped).
fn unix_now() -> Timestamp {
    chrono::Utc::now().timestamp()
}
