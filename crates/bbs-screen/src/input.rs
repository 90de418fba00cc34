//! Terminal input bytes to keys, as a streaming parser: an escape
//! sequence, a UTF-8 character or a CR LF pair split over two reads comes
//! out as one key, whatever the split. Bracketed paste (`ESC [200~` …
//! `ESC [201~`) arrives as one [`Input::Paste`], so pasted text is typed,
//! never taken as commands.
//!
//! A lone ESC cannot be told from the start of a sequence until the next
//! byte comes: it is held, and the door calls [`InputParser::flush`] when
//! no byte followed for a moment.

/// One key press.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Char(char),
    /// Ctrl with a letter, as the lower-case letter (Ctrl-P is `Ctrl('p')`).
    Ctrl(char),
    Enter,
    Tab,
    Backspace,
    Delete,
    Esc,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    Insert,
}

/// What the parser produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Key(Key),
    /// Text pasted in bracketed-paste mode (line breaks as `\n`).
    Paste(String),
}

/// Longest paste kept; the rest of a bigger paste is dropped.
pub const MAX_PASTE: usize = 64 * 1024;

/// Longest escape sequence looked at; longer ones are dropped as garbage.
const MAX_SEQUENCE: usize = 32;

const ESC: u8 = 0x1b;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
enum State {
    #[default]
    Ground,
    /// After CR: a following LF or NUL belongs to the same Enter.
    AfterCr,
    /// After ESC.
    Escape,
    /// After `ESC [`, collecting parameters (bytes kept in `sequence`).
    Csi,
    /// After `ESC O`.
    Ss3,
    /// Inside a UTF-8 character: how many continuation bytes are missing.
    Utf8 { missing: u8 },
    /// Inside a bracketed paste.
    Paste,
}

/// The streaming parser; keeps partial input between [`InputParser::feed`]s.
#[derive(Debug, Default, Clone)]
pub struct InputParser {
    state: State,
    /// Bytes of the sequence or character being read.
    sequence: Vec<u8>,
    /// Text of the paste being read.
    paste: Vec<u8>,
}

/// The end of a bracketed paste.
const PASTE_END: &[u8] = b"\x1b[201~";

impl InputParser {
    pub fn new() -> InputParser {
        InputParser::default()
    }

    /// Whether a lone ESC (or an unfinished sequence) is waiting for more.
    pub fn pending(&self) -> bool {
        matches!(self.state, State::Escape | State::Csi | State::Ss3)
    }

    /// Gives up waiting: a held ESC is the Esc key, an unfinished
    /// sequence is dropped.
    pub fn flush(&mut self, out: &mut Vec<Input>) {
        if self.state == State::Escape {
            out.push(Input::Key(Key::Esc));
        }
        if self.pending() {
            self.state = State::Ground;
            self.sequence.clear();
        }
    }

    /// Parses `bytes`, appending every complete key to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Input>) {
        for &b in bytes {
            self.byte(b, out);
        }
    }

    fn byte(&mut self, b: u8, out: &mut Vec<Input>) {
        match self.state {
            State::Ground => self.ground(b, out),
            State::AfterCr => {
                self.state = State::Ground;
                if b != b'\n' && b != 0 {
                    self.ground(b, out);
                }
            }
            State::Escape => match b {
                b'[' => {
                    self.state = State::Csi;
                    self.sequence.clear();
                }
                b'O' => self.state = State::Ss3,
                ESC => out.push(Input::Key(Key::Esc)),
                _ => {
                    // Alt-x, or Esc then a key: the Esc, then the key.
                    out.push(Input::Key(Key::Esc));
                    self.state = State::Ground;
                    self.ground(b, out);
                }
            },
            State::Ss3 => {
                self.state = State::Ground;
                if let Some(key) = final_key(b) {
                    out.push(Input::Key(key));
                }
            }
            State::Csi => {
                if (0x40..=0x7e).contains(&b) {
                    self.state = State::Ground;
                    self.csi(b, out);
                    self.sequence.clear();
                } else if self.sequence.len() < MAX_SEQUENCE {
                    self.sequence.push(b);
                } else {
                    // Garbage: drop it, and what follows up to a final byte.
                    self.sequence.clear();
                }
            }
            State::Utf8 { missing } => {
                if b & 0xc0 != 0x80 {
                    // A broken character: replaced, and the byte read anew.
                    out.push(Input::Key(Key::Char(char::REPLACEMENT_CHARACTER)));
                    self.state = State::Ground;
                    self.sequence.clear();
                    self.ground(b, out);
                    return;
                }
                self.sequence.push(b);
                if missing > 1 {
                    self.state = State::Utf8 { missing: missing - 1 };
                    return;
                }
                self.state = State::Ground;
                let c = std::str::from_utf8(&self.sequence)
                    .ok()
                    .and_then(|s| s.chars().next())
                    .unwrap_or(char::REPLACEMENT_CHARACTER);
                self.sequence.clear();
                out.push(Input::Key(Key::Char(c)));
            }
            State::Paste => {
                if self.paste.len() < MAX_PASTE + PASTE_END.len() {
                    self.paste.push(b);
                } else {
                    // Over the limit: keep only a window to spot the end.
                    self.paste.drain(MAX_PASTE..MAX_PASTE + 1);
                    self.paste.push(b);
                }
                if self.paste.ends_with(PASTE_END) {
                    self.paste.truncate(self.paste.len() - PASTE_END.len());
                    self.paste.truncate(MAX_PASTE);
                    let text = String::from_utf8_lossy(&self.paste).replace("\r\n", "\n").replace('\r', "\n");
                    self.paste.clear();
                    self.state = State::Ground;
                    out.push(Input::Paste(text));
                }
            }
        }
    }

    fn ground(&mut self, b: u8, out: &mut Vec<Input>) {
        let key = match b {
            ESC => {
                self.state = State::Escape;
                return;
            }
            b'\r' => {
                self.state = State::AfterCr;
                Key::Enter
            }
            b'\n' => Key::Enter,
            b'\t' => Key::Tab,
            0x7f | 0x08 => Key::Backspace,
            0x01..=0x1a => Key::Ctrl((b'a' + b - 1) as char),
            0x00 | 0x1c..=0x1f => return,
            0x20..=0x7e => Key::Char(b as char),
            _ => {
                let missing = match b {
                    0xc2..=0xdf => 1,
                    0xe0..=0xef => 2,
                    0xf0..=0xf4 => 3,
                    _ => {
                        out.push(Input::Key(Key::Char(char::REPLACEMENT_CHARACTER)));
                        return;
                    }
                };
                self.sequence.clear();
                self.sequence.push(b);
                self.state = State::Utf8 { missing };
                return;
            }
        };
        out.push(Input::Key(key));
    }

    /// A complete `ESC [ params final`.
    fn csi(&mut self, last: u8, out: &mut Vec<Input>) {
        if last == b'~' {
            let number: u32 =
                std::str::from_utf8(&self.sequence).ok().and_then(|s| s.split(';').next()?.parse().ok()).unwrap_or(0);
            let key = match number {
                1 | 7 => Key::Home,
                2 => Key::Insert,
                3 => Key::Delete,
                4 | 8 => Key::End,
                5 => Key::PageUp,
                6 => Key::PageDown,
                200 => {
                    self.state = State::Paste;
                    self.paste.clear();
                    return;
                }
                _ => return,
            };
            out.push(Input::Key(key));
        } else if let Some(key) = final_key(last) {
            out.push(Input::Key(key));
        }
    }
}

/// The key of `ESC [ x` / `ESC O x`.
fn final_key(last: u8) -> Option<Key> {
    Some(match last {
        b'A' => Key::Up,
        b'B' => Key::Down,
        b'C' => Key::Right,
        b'D' => Key::Left,
        b'H' => Key::Home,
        b'F' => Key::End,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_in_pieces(bytes: &[u8], splits: &[usize]) -> Vec<Input> {
        let mut parser = InputParser::new();
        let mut out = Vec::new();
        let mut start = 0;
        for &split in splits {
            parser.feed(&bytes[start..split], &mut out);
            start = split;
        }
        parser.feed(&bytes[start..], &mut out);
        parser.flush(&mut out);
        out
    }

    fn keys(list: &[Key]) -> Vec<Input> {
        list.iter().map(|&k| Input::Key(k)).collect()
    }

    const SAMPLE: &[u8] =
        "j\x1b[A\x1bOB\x1b[5~\x1b[6~\r\n看板\x10\x1b[200~貼上\r\ntext\x1b[201~\x7f\x1b[3~x\r\0q".as_bytes();

    fn sample_keys() -> Vec<Input> {
        let mut expected = keys(&[
            Key::Char('j'),
            Key::Up,
            Key::Down,
            Key::PageUp,
            Key::PageDown,
            Key::Enter,
            Key::Char('看'),
            Key::Char('板'),
            Key::Ctrl('p'),
        ]);
        expected.push(Input::Paste("貼上\ntext".into()));
        expected.extend(keys(&[Key::Backspace, Key::Delete, Key::Char('x'), Key::Enter, Key::Char('q')]));
        expected
    }

    #[test]
    fn every_split_point_gives_the_same_keys() {
        for split in 0..=SAMPLE.len() {
            assert_eq!(parse_in_pieces(SAMPLE, &[split]), sample_keys(), "split at {split}");
        }
    }

    #[test]
    fn byte_by_byte_gives_the_same_keys() {
        let splits: Vec<usize> = (1..SAMPLE.len()).collect();
        assert_eq!(parse_in_pieces(SAMPLE, &splits), sample_keys());
    }

    #[test]
    fn a_lone_escape_is_held_until_flushed() {
        let mut parser = InputParser::new();
        let mut out = Vec::new();
        parser.feed(b"\x1b", &mut out);
        assert!(out.is_empty() && parser.pending());
        parser.flush(&mut out);
        assert_eq!(out, keys(&[Key::Esc]));
    }

    #[test]
    fn broken_utf8_becomes_a_replacement_and_the_next_key_survives() {
        assert_eq!(parse_in_pieces(b"\xe7\x9ca", &[]), keys(&[Key::Char('\u{fffd}'), Key::Char('a')]));
    }

    proptest! {
        #[test]
        fn any_bytes_at_any_splits_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), cut in 0usize..200) {
            let cut = cut.min(bytes.len());
            let whole = parse_in_pieces(&bytes, &[]);
            let split = parse_in_pieces(&bytes, &[cut]);
            prop_assert_eq!(whole, split);
        }
    }
}
