//! Server-side line editing for terminals that send keystrokes (an SSH
//! client with a pty, the browser terminal): echo, cursor movement,
//! backspace, history on the arrow keys, and pushes drawn above the line
//! being typed.
//!
//! The editor sits between a terminal and the engine, which speaks the
//! plain dialect: it writes the prompt `% ` when it waits for a line, the
//! answer after a line, and a push as `\r\n<text>\r\n% `. The editor only
//! needs to know when the engine is at its prompt: then the line being
//! typed is shown after it; any output arriving meanwhile (a push) first
//! erases that line and is followed by the redrawn prompt and line. Lines
//! typed while an answer is pending (or piped in all at once) wait in a
//! queue and go to the engine one per prompt, echoed after it, so the
//! screen reads exactly like a telnet session.
//!
//! It is a pure state machine (bytes in, bytes out), so a full-screen
//! interface could replace it without touching the doors or the engine.

use std::collections::VecDeque;

use bbs_protocol::PROMPT;
use unicode_width::UnicodeWidthChar;

/// Lines remembered for the arrow keys.
const HISTORY: usize = 100;

/// Bytes of input waiting in lines typed ahead; more is dropped (a person
/// does not type that far ahead; a paste that large is not a command).
const MAX_TYPED_AHEAD: usize = 64 * 1024;

/// What the terminal's input asks of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InputEnd {
    /// Keep going.
    Open,
    /// Ctrl-D on an empty line, or the terminal closed its input: the
    /// engine gets end of input once the lines typed ahead have gone.
    Closed,
}

/// Where an escape sequence from the keyboard has got to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Escape {
    None,
    /// After ESC.
    Started,
    /// After `ESC [` or `ESC O`, with the parameter bytes so far.
    Sequence(Vec<u8>),
}

#[derive(Debug)]
pub(crate) struct LineEditor {
    /// The line being typed.
    line: Vec<char>,
    /// Cursor position in `line`, in chars.
    cursor: usize,
    /// First char of `line` shown (lines wider than the terminal scroll).
    scroll: usize,
    columns: usize,
    history: VecDeque<String>,
    /// While browsing history: the index shown, and the line typed before.
    browsing: Option<(usize, Vec<char>)>,
    /// Complete lines typed while the engine was busy, oldest first.
    typed_ahead: VecDeque<String>,
    typed_ahead_bytes: usize,
    /// The engine printed its prompt and waits for a line.
    at_prompt: bool,
    /// The last bytes the engine wrote since a line was sent, to see its prompt.
    recent: Vec<u8>,
    /// Output arrived while a line was shown: its leading CRLF is dropped
    /// (the line was erased instead).
    strip_newline: usize,
    escape: Escape,
    /// An incomplete UTF-8 sequence from the terminal.
    partial: Vec<u8>,
    /// The last input byte was CR (a following LF is the same Enter).
    after_cr: bool,
    input_closed: bool,
    /// The engine was told that input ended.
    engine_closed: bool,
}

impl LineEditor {
    pub(crate) fn new(columns: u16) -> LineEditor {
        LineEditor {
            line: Vec::new(),
            cursor: 0,
            scroll: 0,
            columns: usize::from(columns.max(8)),
            history: VecDeque::new(),
            browsing: None,
            typed_ahead: VecDeque::new(),
            typed_ahead_bytes: 0,
            at_prompt: false,
            recent: Vec::new(),
            strip_newline: 0,
            escape: Escape::None,
            partial: Vec::new(),
            after_cr: false,
            input_closed: false,
            engine_closed: false,
        }
    }

    /// Whether the engine should now get end of input.
    pub(crate) fn engine_input_ended(&self) -> bool {
        self.engine_closed
    }

    /// The terminal is now `columns` wide: the line is drawn again to fit.
    pub(crate) fn resize(&mut self, columns: u16, screen: &mut Vec<u8>) {
        self.columns = usize::from(columns.max(8));
        if self.at_prompt {
            self.draw(screen);
        }
    }

    /// Keystrokes from the terminal. Echo goes to `screen`, lines for the
    /// engine (each ending in `\n`) to `engine`.
    pub(crate) fn input(&mut self, bytes: &[u8], screen: &mut Vec<u8>, engine: &mut Vec<u8>) -> InputEnd {
        for &byte in bytes {
            if self.input_closed {
                break;
            }
            self.byte(byte, screen);
        }
        self.send_typed_ahead(screen, engine);
        if self.input_closed {
            InputEnd::Closed
        } else {
            InputEnd::Open
        }
    }

    /// The terminal closed its input (SSH end of file, the socket closed).
    pub(crate) fn close_input(&mut self, screen: &mut Vec<u8>, engine: &mut Vec<u8>) {
        if !self.line.is_empty() {
            self.enter();
        }
        self.input_closed = true;
        self.send_typed_ahead(screen, engine);
    }

    /// Output of the engine, drawn around the line being typed.
    pub(crate) fn output(&mut self, bytes: &[u8], screen: &mut Vec<u8>, engine: &mut Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        let mut bytes = bytes;
        if self.at_prompt {
            // Something arrives while the prompt and line are shown: erase
            // them; the output will end with the prompt again.
            screen.extend_from_slice(b"\r\x1b[K");
            self.at_prompt = false;
            self.strip_newline = 2;
        }
        while self.strip_newline > 0 && !bytes.is_empty() {
            let expected = b"\r\n"[2 - self.strip_newline];
            if bytes[0] != expected {
                self.strip_newline = 0;
                break;
            }
            bytes = &bytes[1..];
            self.strip_newline -= 1;
        }
        screen.extend_from_slice(bytes);
        self.recent.extend_from_slice(bytes);
        if self.recent.len() > 8 {
            self.recent.drain(..self.recent.len() - 8);
        }
        let prompt_line = [b"\r\n".as_slice(), PROMPT.as_bytes()].concat();
        if self.recent.ends_with(&prompt_line) {
            self.at_prompt = true;
            self.strip_newline = 0;
            self.send_typed_ahead(screen, engine);
            if self.at_prompt {
                self.scroll = 0;
                self.draw_after_prompt(screen);
            }
        }
    }

    /// At a prompt, sends the oldest line typed ahead (echoed after the
    /// prompt), or tells the engine that input ended.
    fn send_typed_ahead(&mut self, screen: &mut Vec<u8>, engine: &mut Vec<u8>) {
        if !self.at_prompt || self.engine_closed {
            return;
        }
        if let Some(line) = self.typed_ahead.pop_front() {
            self.typed_ahead_bytes -= line.len();
            screen.extend_from_slice(b"\r\x1b[K");
            screen.extend_from_slice(PROMPT.as_bytes());
            screen.extend_from_slice(line.as_bytes());
            screen.extend_from_slice(b"\r\n");
            engine.extend_from_slice(line.as_bytes());
            engine.push(b'\n');
            self.at_prompt = false;
            self.recent.clear();
            self.recent.extend_from_slice(b"\r\n");
        } else if self.input_closed {
            self.engine_closed = true;
        }
    }

    fn byte(&mut self, byte: u8, screen: &mut Vec<u8>) {
        let after_cr = std::mem::replace(&mut self.after_cr, byte == b'\r');
        match std::mem::replace(&mut self.escape, Escape::None) {
            Escape::Started => {
                if byte == b'[' || byte == b'O' {
                    self.escape = Escape::Sequence(Vec::new());
                }
                return;
            }
            Escape::Sequence(mut params) => {
                if (0x30..=0x3f).contains(&byte) && params.len() < 16 {
                    params.push(byte);
                    self.escape = Escape::Sequence(params);
                } else {
                    self.key_sequence(&params, byte, screen);
                }
                return;
            }
            Escape::None => {}
        }
        match byte {
            0x1b => self.escape = Escape::Started,
            b'\r' => self.enter_key(screen),
            b'\n' if after_cr => {}
            b'\n' => self.enter_key(screen),
            0x7f | 0x08 => {
                if self.cursor > 0 {
                    self.cursor -= 1;
                    self.line.remove(self.cursor);
                    self.redraw(screen);
                }
            }
            // Ctrl-C: drop the line.
            0x03 => {
                self.line.clear();
                self.cursor = 0;
                self.browsing = None;
                if self.at_prompt {
                    screen.extend_from_slice(b"^C\r\n");
                    screen.extend_from_slice(PROMPT.as_bytes());
                }
            }
            // Ctrl-D: end of input on an empty line, else delete forward.
            0x04 => {
                if self.line.is_empty() {
                    self.input_closed = true;
                } else if self.cursor < self.line.len() {
                    self.line.remove(self.cursor);
                    self.redraw(screen);
                }
            }
            0x01 => self.move_to(0, screen),
            0x05 => self.move_to(self.line.len(), screen),
            0x02 => self.move_to(self.cursor.saturating_sub(1), screen),
            0x06 => self.move_to((self.cursor + 1).min(self.line.len()), screen),
            // Ctrl-U, Ctrl-K: delete before, after the cursor.
            0x15 => {
                self.line.drain(..self.cursor);
                self.cursor = 0;
                self.redraw(screen);
            }
            0x0b => {
                self.line.truncate(self.cursor);
                self.redraw(screen);
            }
            // Ctrl-W: delete the word before the cursor.
            0x17 => {
                let mut start = self.cursor;
                while start > 0 && self.line[start - 1] == ' ' {
                    start -= 1;
                }
                while start > 0 && self.line[start - 1] != ' ' {
                    start -= 1;
                }
                self.line.drain(start..self.cursor);
                self.cursor = start;
                self.redraw(screen);
            }
            b'\t' => self.insert(' ', screen),
            byte if byte < 0x20 => {}
            byte => {
                self.partial.push(byte);
                match std::str::from_utf8(&self.partial) {
                    Ok(text) => {
                        let c = text.chars().next().expect("one char");
                        self.partial.clear();
                        self.insert(c, screen);
                    }
                    Err(e) if e.error_len().is_some() || self.partial.len() >= 4 => self.partial.clear(),
                    Err(_) => {}
                }
            }
        }
    }

    fn key_sequence(&mut self, params: &[u8], last: u8, screen: &mut Vec<u8>) {
        match (params, last) {
            (_, b'A') => self.history_step(true, screen),
            (_, b'B') => self.history_step(false, screen),
            (_, b'C') => self.move_to((self.cursor + 1).min(self.line.len()), screen),
            (_, b'D') => self.move_to(self.cursor.saturating_sub(1), screen),
            (_, b'H') | (b"1" | b"7", b'~') => self.move_to(0, screen),
            (_, b'F') | (b"4" | b"8", b'~') => self.move_to(self.line.len(), screen),
            (b"3", b'~') if self.cursor < self.line.len() => {
                self.line.remove(self.cursor);
                self.redraw(screen);
            }
            _ => {}
        }
    }

    fn insert(&mut self, c: char, screen: &mut Vec<u8>) {
        self.line.insert(self.cursor, c);
        self.cursor += 1;
        if self.at_prompt && self.cursor == self.line.len() && self.fits_without_scrolling() {
            // The common case: one more character at the end.
            let mut bytes = [0u8; 4];
            screen.extend_from_slice(c.encode_utf8(&mut bytes).as_bytes());
        } else {
            self.redraw(screen);
        }
    }

    fn enter_key(&mut self, screen: &mut Vec<u8>) {
        let shown = self.at_prompt;
        self.enter();
        if shown {
            // The line stays on screen; the queue sends it as the next line.
            screen.extend_from_slice(b"\r\x1b[K");
        }
    }

    /// Queues the line typed so far.
    fn enter(&mut self) {
        let line: String = self.line.drain(..).collect();
        self.cursor = 0;
        self.scroll = 0;
        self.browsing = None;
        if !line.trim().is_empty() && self.history.back() != Some(&line) {
            if self.history.len() == HISTORY {
                self.history.pop_front();
            }
            self.history.push_back(line.clone());
        }
        if self.typed_ahead_bytes + line.len() <= MAX_TYPED_AHEAD {
            self.typed_ahead_bytes += line.len();
            self.typed_ahead.push_back(line);
        }
    }

    fn history_step(&mut self, back: bool, screen: &mut Vec<u8>) {
        if self.history.is_empty() {
            return;
        }
        let next = match (&self.browsing, back) {
            (None, true) => Some(self.history.len() - 1),
            (None, false) => return,
            (Some((0, _)), true) => Some(0),
            (Some((i, _)), true) => Some(i - 1),
            (Some((i, _)), false) if i + 1 < self.history.len() => Some(i + 1),
            (Some(_), false) => None,
        };
        match next {
            Some(i) => {
                let draft = match self.browsing.take() {
                    Some((_, draft)) => draft,
                    None => std::mem::take(&mut self.line),
                };
                self.line = self.history[i].chars().collect();
                self.browsing = Some((i, draft));
            }
            None => {
                if let Some((_, draft)) = self.browsing.take() {
                    self.line = draft;
                }
            }
        }
        self.cursor = self.line.len();
        self.redraw(screen);
    }

    fn move_to(&mut self, cursor: usize, screen: &mut Vec<u8>) {
        if cursor != self.cursor {
            self.cursor = cursor;
            self.redraw(screen);
        }
    }

    /// Columns the line may use after the prompt (one is kept for the cursor).
    fn room(&self) -> usize {
        self.columns.saturating_sub(PROMPT.len() + 1).max(1)
    }

    fn width(chars: &[char]) -> usize {
        chars.iter().map(|c| c.width().unwrap_or(0)).sum()
    }

    fn fits_without_scrolling(&self) -> bool {
        self.scroll == 0 && Self::width(&self.line) <= self.room()
    }

    fn redraw(&mut self, screen: &mut Vec<u8>) {
        if self.at_prompt {
            self.draw(screen);
        }
    }

    /// Draws the prompt and the visible part of the line, cursor placed.
    fn draw(&mut self, screen: &mut Vec<u8>) {
        screen.extend_from_slice(b"\r\x1b[K");
        screen.extend_from_slice(PROMPT.as_bytes());
        self.draw_after_prompt(screen);
    }

    fn draw_after_prompt(&mut self, screen: &mut Vec<u8>) {
        let room = self.room();
        // Scroll so that the cursor is visible.
        if self.cursor < self.scroll {
            self.scroll = self.cursor;
        }
        while self.scroll < self.cursor && Self::width(&self.line[self.scroll..self.cursor]) > room {
            self.scroll += 1;
        }
        let mut shown = 0;
        let mut end = self.scroll;
        while end < self.line.len() {
            let w = self.line[end].width().unwrap_or(0);
            if shown + w > room {
                break;
            }
            shown += w;
            end += 1;
        }
        let visible: String = self.line[self.scroll..end].iter().collect();
        screen.extend_from_slice(visible.as_bytes());
        let back = Self::width(&self.line[self.cursor.min(end)..end]);
        if back > 0 {
            screen.extend_from_slice(format!("\x1b[{back}D").as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds engine output and keystrokes; returns (screen, engine input).
    fn run(editor: &mut LineEditor, output: &[u8], keys: &[u8]) -> (String, String) {
        let (mut screen, mut engine) = (Vec::new(), Vec::new());
        editor.output(output, &mut screen, &mut engine);
        editor.input(keys, &mut screen, &mut engine);
        (String::from_utf8(screen).unwrap(), String::from_utf8(engine).unwrap())
    }

    #[test]
    fn typed_lines_are_echoed_and_sent_at_the_prompt() {
        let mut editor = LineEditor::new(80);
        let (screen, engine) = run(&mut editor, b"banner\r\n% ", b"whoami\r");
        assert_eq!(engine, "whoami\n");
        assert!(screen.starts_with("banner\r\n% whoami"), "{screen:?}");
        assert!(screen.ends_with("% whoami\r\n"), "{screen:?}");
    }

    #[test]
    fn lines_typed_ahead_wait_for_their_prompt() {
        let mut editor = LineEditor::new(80);
        let (_, engine) = run(&mut editor, b"", b"one\ntwo\n");
        assert_eq!(engine, "", "no prompt yet");
        let (_, engine) = run(&mut editor, b"banner\r\n% ", b"");
        assert_eq!(engine, "one\n");
        let (screen, engine) = run(&mut editor, b"answer one\r\n% ", b"");
        assert_eq!(engine, "two\n");
        assert_eq!(screen, "answer one\r\n% \r\x1b[K% two\r\n");
    }

    #[test]
    fn a_push_is_drawn_above_the_line_being_typed() {
        let mut editor = LineEditor::new(80);
        run(&mut editor, b"\r\n% ", b"hel");
        let (screen, engine) = run(&mut editor, b"\r\nnews\r\n% ", b"lo");
        assert_eq!(engine, "");
        assert_eq!(screen, "\r\x1b[Knews\r\n% hello");
    }

    #[test]
    fn backspace_arrows_and_history_edit_the_line() {
        let mut editor = LineEditor::new(80);
        let (_, engine) = run(&mut editor, b"\r\n% ", b"list-boarx\x7fd\r");
        assert_eq!(engine, "list-board\n");
        let mut editor2 = LineEditor::new(80);
        let (_, engine) = run(&mut editor2, b"\r\n% ", b"abc\x1b[D\x1b[DX\r");
        assert_eq!(engine, "aXbc\n");
    }

    #[test]
    fn history_recalls_the_previous_line() {
        let mut editor = LineEditor::new(80);
        let (_, first) = run(&mut editor, b"\r\n% ", b"list-board\r");
        assert_eq!(first, "list-board\n");
        let (_, engine) = run(&mut editor, b"table\r\n% ", b"\x1b[A\r");
        assert_eq!(engine, "list-board\n");
    }

    #[test]
    fn ctrl_d_on_an_empty_line_ends_input_after_the_queue() {
        let mut editor = LineEditor::new(80);
        let (_, engine) = run(&mut editor, b"", b"whoami\r\x04");
        assert_eq!(engine, "");
        assert!(!editor.engine_input_ended());
        let (_, engine) = run(&mut editor, b"\r\n% ", b"");
        assert_eq!(engine, "whoami\n");
        assert!(!editor.engine_input_ended());
        run(&mut editor, b"Please login first.\r\n% ", b"");
        assert!(editor.engine_input_ended());
    }

    #[test]
    fn a_long_line_scrolls_within_the_terminal_width() {
        let mut editor = LineEditor::new(10);
        let (screen, _) = run(&mut editor, b"\r\n% ", b"abcdefghijkl");
        let last = screen.rsplit("\r\x1b[K").next().unwrap();
        assert_eq!(last, "% fghijkl", "the last 7 characters fit before the cursor's column");
    }
}
