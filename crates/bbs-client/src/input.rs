//! Where command lines come from: a terminal (our own line editor) or piped
//! standard input (scripts and tests).
//!
//! # Why an editor of our own
//!
//! The client reads a line while other things happen: chat lines arrive,
//! a chatroom closes under a member, and (later) the server pushes
//! messages at the BBS prompt. So the reader must (a) be awaited inside
//! `tokio::select!` and survive being cancelled, (b) let the prompt of a
//! read in progress change — a member whose room closes was reading a
//! chat line with the empty prompt and must now see `% ` — and (c) print
//! lines above the line being typed, at any moment, and redraw it.
//!
//! rustyline on a thread (what this replaced) cannot change the prompt of
//! a read in progress: a member whose room closed saw no `% ` at all.
//! `rustyline-async` 0.4 was tried too: it redraws the prompt the moment
//! Enter is pressed (before the answer is known, so every answer is
//! printed above an early `% `), it keeps the terminal raw for the whole
//! run without output post-processing (so any `println!` elsewhere
//! breaks the screen), and what is printed through its writer only shows
//! while its `readline()` is being polled. Its fixes would have fought
//! the library. The editor here is small and does exactly what the client
//! needs, on crossterm's `EventStream` (which parses keys and is a
//! cancel-safe stream):
//!
//! - The prompt is drawn only when a line is asked for, so on a terminal,
//!   as with a pipe, the prompt follows the previous answer.
//! - The terminal is raw (no echo, no line buffering, no signals: Ctrl-C
//!   is a key) but keeps output post-processing, so `\n` still moves to
//!   the start of the next line and plain `println!` between reads is safe.
//! - Keys are handled only while [`Lines::next`] is awaited; what is typed
//!   while a command runs waits in the terminal and is read afterwards.
//! - Widths come from `unicode-width`, so CJK text wraps and the cursor
//!   lands where the terminal puts it.
//!
//! With piped input (not a terminal on both sides) lines are read on a
//! thread, the prompt is printed plainly before every read (and once more
//! at the end of input), exactly as the piped transcripts expect.

use std::fmt::Write as _;
use std::future::poll_fn;
use std::io::{BufRead, IsTerminal, Write};
use std::pin::Pin;
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex, MutexGuard};

use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use futures_core::Stream;
use tokio::sync::mpsc;
use unicode_width::UnicodeWidthChar;

/// One thing the user did at the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Line(String),
    /// End of input (Ctrl-D at an empty line, or the end of a pipe).
    End,
}

/// Lines typed by the user, and the way to print without disturbing them.
pub struct Lines {
    source: Source,
    printer: Printer,
}

enum Source {
    Pipe(Pipe),
    Terminal(Terminal),
}

impl Lines {
    /// Reads standard input: with the line editor when both standard input
    /// and standard output are terminals, plainly otherwise.
    pub fn stdin() -> Lines {
        let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
        if interactive {
            if let Some(lines) = Terminal::start() {
                return lines;
            }
        }
        Lines { source: Source::Pipe(Pipe::start()), printer: Printer { editor: None } }
    }

    /// Whether lines come from the line editor on a terminal.
    pub fn interactive(&self) -> bool {
        matches!(self.source, Source::Terminal(_))
    }

    /// Shows `prompt` and waits for the next line.
    ///
    /// Cancel-safe: dropped before a line came (another `select!` branch
    /// won), the read stays in progress — on a terminal the prompt and the
    /// half-typed line stay on screen — and the next call goes on with it.
    /// A different `prompt` replaces the one shown.
    pub async fn next(&mut self, prompt: &str) -> Input {
        match &mut self.source {
            Source::Pipe(pipe) => pipe.next(prompt).await,
            Source::Terminal(terminal) => terminal.next(prompt).await,
        }
    }

    /// Prints `text` (one line, or several joined by `\n`) above the line
    /// being typed, which is then redrawn; plainly when no line is being
    /// read.
    pub fn print(&self, text: &str) {
        self.printer.print(text);
    }

    /// A handle that prints like [`Lines::print`], for code that does not
    /// hold the `Lines` (another task, say).
    pub fn printer(&self) -> Printer {
        self.printer.clone()
    }
}

/// Prints lines above the line being typed; see [`Lines::print`].
#[derive(Clone)]
pub struct Printer {
    /// The terminal's editor; `None` with piped input.
    editor: Option<Arc<Mutex<Editor>>>,
}

impl Printer {
    pub fn print(&self, text: &str) {
        let Some(editor) = &self.editor else {
            println!("{text}");
            return;
        };
        let mut editor = lock(editor);
        let mut out = String::new();
        editor.clear(&mut out);
        out.push_str(text);
        out.push('\n');
        if editor.active {
            editor.draw(&mut out, terminal_width());
        }
        write_out(&out);
    }
}

// ---------------------------------------------------------------------------
// Piped input.

/// A thread reading standard input one line per request.
struct Pipe {
    requests: std_mpsc::Sender<()>,
    lines: mpsc::Receiver<Input>,
    /// The prompt of a line asked for and not yet received (a `next` was
    /// cancelled by something arriving first: a chat line, a keepalive).
    pending: Option<String>,
}

impl Pipe {
    fn start() -> Pipe {
        let (requests, asked) = std_mpsc::channel::<()>();
        let (send, lines) = mpsc::channel(1);
        std::thread::Builder::new()
            .name("input".into())
            .spawn(move || read_pipe(asked, send))
            .expect("starting the input thread");
        Pipe { requests, lines, pending: None }
    }

    async fn next(&mut self, prompt: &str) -> Input {
        match &self.pending {
            Some(shown) if shown == prompt => {}
            Some(_) => {
                // Asked again with another prompt (a chat line was awaited,
                // and now the BBS prompt): show the new one.
                show_prompt(prompt);
                self.pending = Some(prompt.to_owned());
            }
            None => {
                show_prompt(prompt);
                if self.requests.send(()).is_err() {
                    return Input::End;
                }
                self.pending = Some(prompt.to_owned());
            }
        }
        let input = self.lines.recv().await.unwrap_or(Input::End);
        self.pending = None;
        input
    }
}

fn show_prompt(prompt: &str) {
    if !prompt.is_empty() {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(prompt.as_bytes());
        let _ = out.flush();
    }
}

fn read_pipe(asked: std_mpsc::Receiver<()>, lines: mpsc::Sender<Input>) {
    let stdin = std::io::stdin();
    let mut stdin = stdin.lock();
    let mut raw = Vec::new();
    while asked.recv().is_ok() {
        raw.clear();
        let input = match stdin.read_until(b'\n', &mut raw) {
            Ok(0) | Err(_) => Input::End,
            Ok(_) => {
                let text = String::from_utf8_lossy(&raw);
                Input::Line(text.trim_end_matches(['\n', '\r']).to_owned())
            }
        };
        let end = input == Input::End;
        if lines.blocking_send(input).is_err() || end {
            return;
        }
    }
}

// ---------------------------------------------------------------------------
// The terminal.

struct Terminal {
    events: EventStream,
    editor: Arc<Mutex<Editor>>,
    /// Restores the terminal's settings when the client ends.
    _raw: RawMode,
}

impl Terminal {
    /// The editor on standard input, or `None` if the terminal's settings
    /// cannot be changed (then input is read as from a pipe).
    fn start() -> Option<Lines> {
        let raw = RawMode::enable()?;
        let editor = Arc::new(Mutex::new(Editor::default()));
        let terminal = Terminal { events: EventStream::new(), editor: Arc::clone(&editor), _raw: raw };
        Some(Lines { source: Source::Terminal(terminal), printer: Printer { editor: Some(editor) } })
    }

    async fn next(&mut self, prompt: &str) -> Input {
        {
            let mut editor = lock(&self.editor);
            let mut out = String::new();
            editor.show_prompt(prompt, &mut out, terminal_width());
            write_out(&out);
        }
        loop {
            // The only await: cancelling here loses nothing (the stream
            // keeps what it has not handed out, and every key taken is
            // handled below before the next await).
            let event = poll_fn(|cx| Pin::new(&mut self.events).poll_next(cx)).await;
            let event = match event {
                Some(Ok(event)) => event,
                // The terminal is gone (hung up): as at the end of a pipe.
                Some(Err(_)) | None => {
                    let mut editor = lock(&self.editor);
                    editor.active = false;
                    return Input::End;
                }
            };
            let mut editor = lock(&self.editor);
            let mut out = String::new();
            let input = editor.handle(event, &mut out, terminal_width());
            write_out(&out);
            if let Some(input) = input {
                return input;
            }
        }
    }
}

impl Drop for Terminal {
    /// A prompt left on screen (the server closed the connection while a
    /// line was being read) is erased, so the shell's prompt comes on a
    /// clean line.
    fn drop(&mut self) {
        let mut editor = lock(&self.editor);
        let mut out = String::new();
        editor.clear(&mut out);
        editor.active = false;
        write_out(&out);
    }
}

/// A poisoned lock only means a panic elsewhere mid-print; the editor's
/// state is still usable.
fn lock(editor: &Mutex<Editor>) -> MutexGuard<'_, Editor> {
    editor.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write_out(text: &str) {
    if text.is_empty() {
        return;
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn terminal_width() -> usize {
    crossterm::terminal::size().map_or(80, |(columns, _)| usize::from(columns)).max(1)
}

/// The terminal in raw mode for as long as this lives.
struct RawMode {
    saved: nix::sys::termios::Termios,
}

impl RawMode {
    fn enable() -> Option<RawMode> {
        use nix::sys::termios::{self, InputFlags, LocalFlags, SetArg, SpecialCharacterIndices};
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(&stdin).ok()?;
        let mut raw = saved.clone();
        // Keys one by one, not echoed, Ctrl-C/Ctrl-Z/Ctrl-V as keys, Enter
        // as `\r`, no flow control. Output flags stay: `\n` still means a
        // new line at column 0, for the editor and for anything else that
        // prints.
        raw.local_flags &= !(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG | LocalFlags::IEXTEN);
        raw.input_flags &= !(InputFlags::ICRNL
            | InputFlags::INLCR
            | InputFlags::IGNCR
            | InputFlags::IXON
            | InputFlags::ISTRIP
            | InputFlags::BRKINT);
        raw.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
        raw.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        termios::tcsetattr(&stdin, SetArg::TCSADRAIN, &raw).ok()?;
        Some(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        use nix::sys::termios::{self, SetArg};
        let _ = termios::tcsetattr(std::io::stdin(), SetArg::TCSADRAIN, &self.saved);
    }
}

// ---------------------------------------------------------------------------
// The line editor proper: state and drawing, no I/O (output is appended to
// a string), so it is tested without a terminal.

#[derive(Default)]
struct Editor {
    prompt: String,
    line: Vec<char>,
    /// Index into `line` (characters, not bytes or columns).
    cursor: usize,
    /// A read is in progress: the prompt and the line are on screen.
    active: bool,
    /// Where the cursor was left, in rows below the first row of the
    /// prompt, and how many rows the prompt and line take: what
    /// [`Editor::clear`] must erase.
    cursor_row: usize,
    rows: usize,
    history: Vec<String>,
    /// The entry shown while moving through the history (`None`: the
    /// line being typed, kept in `stash`).
    browsing: Option<usize>,
    stash: Vec<char>,
}

/// Entries kept for arrow-up.
const HISTORY_LIMIT: usize = 1000;

impl Editor {
    /// Starts a read with `prompt`, or changes the prompt of the read in
    /// progress (the half-typed line stays).
    fn show_prompt(&mut self, prompt: &str, out: &mut String, width: usize) {
        if self.active && self.prompt == prompt {
            return;
        }
        self.clear(out);
        self.prompt = prompt.to_owned();
        self.active = true;
        self.draw(out, width);
    }

    /// Erases the prompt and line from the screen (the cursor ends at the
    /// start of the row the prompt was on).
    fn clear(&mut self, out: &mut String) {
        if !self.active {
            return;
        }
        if self.cursor_row > 0 {
            let _ = write!(out, "\x1b[{}A", self.cursor_row);
        }
        out.push_str(if self.rows > 1 { "\r\x1b[J" } else { "\r\x1b[K" });
        self.cursor_row = 0;
        self.rows = 1;
    }

    /// Writes the prompt and the line from the start of an empty row and
    /// puts the cursor at its place.
    fn draw(&mut self, out: &mut String, width: usize) {
        out.push_str(&self.prompt);
        out.extend(&self.line);
        let mut place = Place::default();
        let mut at_cursor = None;
        let cursor_index = self.prompt.chars().count() + self.cursor;
        for (i, c) in self.prompt.chars().chain(self.line.iter().copied()).enumerate() {
            if i == cursor_index {
                at_cursor = Some(place.settled(width));
            }
            place.advance(c, width);
        }
        let end = place.settled(width);
        if place.column == width {
            // The terminal holds the cursor on the last column until the
            // next character; a new line makes the position unambiguous.
            out.push('\n');
        }
        let cursor = at_cursor.unwrap_or(end);
        if cursor != end {
            if end.row > cursor.row {
                let _ = write!(out, "\x1b[{}A", end.row - cursor.row);
            }
            out.push('\r');
            if cursor.column > 0 {
                let _ = write!(out, "\x1b[{}C", cursor.column);
            }
        }
        self.cursor_row = cursor.row;
        self.rows = end.row + 1;
    }

    fn redraw(&mut self, out: &mut String, width: usize) {
        self.clear(out);
        self.draw(out, width);
    }

    /// Handles one terminal event; returns the input when a line is done.
    fn handle(&mut self, event: Event, out: &mut String, width: usize) -> Option<Input> {
        let key = match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => key,
            Event::Resize(..) => {
                self.redraw(out, width);
                return None;
            }
            _ => return None,
        };
        let KeyEvent { code, modifiers, .. } = key;
        let control = modifiers.contains(KeyModifiers::CONTROL);
        match code {
            KeyCode::Enter => return Some(self.finish(out, width)),
            KeyCode::Char('j' | 'm') if control => return Some(self.finish(out, width)),
            // Ctrl-C abandons the line being typed (not the client).
            KeyCode::Char('c') if control => {
                self.line.clear();
                self.cursor = 0;
                self.browsing = None;
            }
            KeyCode::Char('d') if control => {
                if self.line.is_empty() {
                    self.clear(out);
                    // The prompt stays, as the line typed would have.
                    out.push_str(&self.prompt);
                    out.push('\n');
                    self.active = false;
                    return Some(Input::End);
                }
                self.delete_at_cursor();
            }
            KeyCode::Backspace => self.delete_before_cursor(),
            KeyCode::Char('h') if control => self.delete_before_cursor(),
            KeyCode::Delete => self.delete_at_cursor(),
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Char('b') if control => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(self.line.len()),
            KeyCode::Char('f') if control => self.cursor = (self.cursor + 1).min(self.line.len()),
            KeyCode::Home => self.cursor = 0,
            KeyCode::Char('a') if control => self.cursor = 0,
            KeyCode::End => self.cursor = self.line.len(),
            KeyCode::Char('e') if control => self.cursor = self.line.len(),
            KeyCode::Char('u') if control => {
                self.line.drain(..self.cursor);
                self.cursor = 0;
            }
            KeyCode::Char('k') if control => self.line.truncate(self.cursor),
            KeyCode::Char('w') if control => {
                let mut start = self.cursor;
                while start > 0 && self.line[start - 1].is_whitespace() {
                    start -= 1;
                }
                while start > 0 && !self.line[start - 1].is_whitespace() {
                    start -= 1;
                }
                self.line.drain(start..self.cursor);
                self.cursor = start;
            }
            KeyCode::Char('l') if control => {
                out.push_str("\x1b[H\x1b[2J");
                self.cursor_row = 0;
                self.rows = 1;
                self.draw(out, width);
                return None;
            }
            KeyCode::Up => self.history_back(),
            KeyCode::Char('p') if control => self.history_back(),
            KeyCode::Down => self.history_forward(),
            KeyCode::Char('n') if control => self.history_forward(),
            KeyCode::Char(c) if !control && !modifiers.contains(KeyModifiers::ALT) && !c.is_control() => {
                self.line.insert(self.cursor, c);
                self.cursor += 1;
            }
            _ => return None,
        }
        self.redraw(out, width);
        None
    }

    /// Enter: the line is done; it stays on screen and the cursor goes to
    /// the next row, where the answer will come.
    fn finish(&mut self, out: &mut String, width: usize) -> Input {
        if self.cursor != self.line.len() {
            self.cursor = self.line.len();
            self.redraw(out, width);
        }
        out.push('\n');
        self.active = false;
        self.cursor_row = 0;
        self.rows = 1;
        let line: String = self.line.drain(..).collect();
        self.cursor = 0;
        self.browsing = None;
        self.stash.clear();
        if !line.trim().is_empty() && self.history.last() != Some(&line) {
            if self.history.len() == HISTORY_LIMIT {
                self.history.remove(0);
            }
            self.history.push(line.clone());
        }
        Input::Line(line)
    }

    fn delete_before_cursor(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            self.line.remove(self.cursor);
        }
    }

    fn delete_at_cursor(&mut self) {
        if self.cursor < self.line.len() {
            self.line.remove(self.cursor);
        }
    }

    fn history_back(&mut self) {
        let at = match self.browsing {
            None if self.history.is_empty() => return,
            None => {
                self.stash = std::mem::take(&mut self.line);
                self.history.len() - 1
            }
            Some(0) => return,
            Some(at) => at - 1,
        };
        self.browsing = Some(at);
        self.line = self.history[at].chars().collect();
        self.cursor = self.line.len();
    }

    fn history_forward(&mut self) {
        let Some(at) = self.browsing else { return };
        if at + 1 < self.history.len() {
            self.browsing = Some(at + 1);
            self.line = self.history[at + 1].chars().collect();
        } else {
            self.browsing = None;
            self.line = std::mem::take(&mut self.stash);
        }
        self.cursor = self.line.len();
    }
}

/// A position on screen relative to the start of the prompt, following
/// the terminal's wrapping: a character that does not fit in the row
/// (a wide one in the last column) goes to the next row.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Place {
    row: usize,
    column: usize,
}

impl Place {
    fn advance(&mut self, c: char, width: usize) {
        let w = c.width().unwrap_or(0);
        if w == 0 {
            return;
        }
        if self.column + w > width {
            self.row += 1;
            self.column = 0;
        }
        self.column += w;
    }

    /// Where the cursor is shown: a full row puts it at the start of the
    /// next one.
    fn settled(self, width: usize) -> Place {
        if self.column >= width {
            Place { row: self.row + 1, column: 0 }
        } else {
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> Event {
        Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn ctrl(c: char) -> Event {
        Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
    }

    fn typed(editor: &mut Editor, text: &str, width: usize) -> String {
        let mut out = String::new();
        for c in text.chars() {
            assert_eq!(editor.handle(key(KeyCode::Char(c)), &mut out, width), None);
        }
        out
    }

    fn started(prompt: &str) -> Editor {
        Editor { prompt: prompt.into(), active: true, rows: 1, ..Editor::default() }
    }

    #[test]
    fn editing_keys_change_the_line() {
        let mut editor = started("% ");
        typed(&mut editor, "whoamx", 80);
        let mut out = String::new();
        editor.handle(key(KeyCode::Backspace), &mut out, 80);
        typed(&mut editor, "i", 80);
        editor.handle(key(KeyCode::Home), &mut out, 80);
        typed(&mut editor, ">", 80);
        editor.handle(key(KeyCode::End), &mut out, 80);
        editor.handle(key(KeyCode::Left), &mut out, 80);
        typed(&mut editor, "_", 80);
        assert_eq!(editor.handle(key(KeyCode::Enter), &mut out, 80), Some(Input::Line(">whoam_i".into())));
    }

    #[test]
    fn history_walks_back_and_returns_to_the_line_being_typed() {
        let mut editor = started("% ");
        let mut out = String::new();
        for line in ["one", "two"] {
            editor.active = true;
            typed(&mut editor, line, 80);
            editor.handle(key(KeyCode::Enter), &mut out, 80);
        }
        editor.active = true;
        typed(&mut editor, "thr", 80);
        editor.handle(key(KeyCode::Up), &mut out, 80);
        editor.handle(key(KeyCode::Up), &mut out, 80);
        editor.handle(key(KeyCode::Up), &mut out, 80);
        assert_eq!(editor.line.iter().collect::<String>(), "one");
        editor.handle(key(KeyCode::Down), &mut out, 80);
        editor.handle(key(KeyCode::Down), &mut out, 80);
        assert_eq!(editor.line.iter().collect::<String>(), "thr");
    }

    #[test]
    fn ctrl_c_clears_and_ctrl_d_ends_only_an_empty_line() {
        let mut editor = started("% ");
        let mut out = String::new();
        typed(&mut editor, "abc", 80);
        assert_eq!(editor.handle(ctrl('d'), &mut out, 80), None);
        editor.handle(ctrl('c'), &mut out, 80);
        assert!(editor.line.is_empty());
        assert_eq!(editor.handle(ctrl('d'), &mut out, 80), Some(Input::End));
        assert!(!editor.active);
    }

    #[test]
    fn wide_characters_move_the_cursor_by_their_width() {
        let mut editor = started("% ");
        typed(&mut editor, "中文ab", 80);
        let mut out = String::new();
        editor.handle(key(KeyCode::Left), &mut out, 80);
        editor.handle(key(KeyCode::Left), &mut out, 80);
        editor.handle(key(KeyCode::Left), &mut out, 80);
        // "% " (2) + "中" (2): the cursor is on column 4.
        assert!(out.ends_with("% 中文ab\r\x1b[4C"), "{out:?}");
    }

    #[test]
    fn a_wide_character_that_does_not_fit_wraps_whole() {
        // Width 5: "% 中" fills 4 columns, "文" goes to the next row.
        let mut editor = started("% ");
        let out = typed(&mut editor, "中文", 5);
        assert!(out.ends_with("% 中文"), "{out:?}");
        assert_eq!((editor.rows, editor.cursor_row), (2, 1));
        let mut out = String::new();
        editor.clear(&mut out);
        assert_eq!(out, "\x1b[1A\r\x1b[J");
    }

    #[test]
    fn a_full_row_moves_the_cursor_to_the_next_one() {
        let mut editor = started("% ");
        let out = typed(&mut editor, "abc", 5);
        assert!(out.ends_with("% abc\n"), "{out:?}");
        assert_eq!((editor.rows, editor.cursor_row), (2, 1));
    }

    #[test]
    fn printing_clears_the_line_and_redraws_it() {
        let editor = Arc::new(Mutex::new(started("")));
        typed(&mut lock(&editor), "half", 80);
        let mut out = String::new();
        {
            let mut editor = lock(&editor);
            editor.clear(&mut out);
            out.push_str("Bob[12:00] : hi\n");
            editor.draw(&mut out, 80);
        }
        assert_eq!(out, "\r\x1b[KBob[12:00] : hi\nhalf");
    }

    #[test]
    fn changing_the_prompt_keeps_the_half_typed_line() {
        let mut editor = started("");
        typed(&mut editor, "who", 80);
        let mut out = String::new();
        editor.show_prompt("% ", &mut out, 80);
        assert!(out.ends_with("\r\x1b[K% who"), "{out:?}");
        out.clear();
        editor.show_prompt("% ", &mut out, 80);
        assert_eq!(out, "", "the same prompt is not drawn again");
    }
}
