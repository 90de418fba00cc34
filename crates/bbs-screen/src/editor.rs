//! The full-screen text editor for posts and mail: lines of text, a
//! cursor kept on a character boundary, and a view that scrolls both
//! ways. The cursor's column is the display width of the text before it,
//! so it sits right after a CJK character, never inside one.

use crate::buffer::{Buffer, Style};
use crate::input::Key;
use crate::text::{char_width, width};

/// Most text the editor holds (bytes); typing or pasting past it is
/// ignored. Bounds a session's memory whatever is pasted.
pub const MAX_TEXT: usize = 32 * 1024;

/// Most lines.
pub const MAX_LINES: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Editor {
    lines: Vec<String>,
    /// Cursor: line, and character (not byte) within it.
    row: usize,
    col: usize,
    /// First line shown, first column shown.
    top: usize,
    left: usize,
    bytes: usize,
}

impl Default for Editor {
    fn default() -> Editor {
        Editor::new("")
    }
}

impl Editor {
    /// An editor holding `text` (lines split at `\n`), cursor at the end.
    pub fn new(text: &str) -> Editor {
        let mut editor = Editor { lines: vec![String::new()], row: 0, col: 0, top: 0, left: 0, bytes: 0 };
        editor.paste(text);
        editor
    }

    /// The text, lines joined by `\n`, trailing blank lines dropped.
    pub fn text(&self) -> String {
        let last = self.lines.iter().rposition(|line| !line.trim().is_empty()).map_or(0, |i| i + 1);
        self.lines[..last].iter().map(|line| line.trim_end()).collect::<Vec<_>>().join("\n")
    }

    pub fn cursor(&self) -> (usize, usize) {
        (self.row, self.col)
    }

    fn byte_at(&self, row: usize, col: usize) -> usize {
        self.lines[row].char_indices().nth(col).map_or(self.lines[row].len(), |(i, _)| i)
    }

    fn line_chars(&self, row: usize) -> usize {
        self.lines[row].chars().count()
    }

    /// Types `c` at the cursor.
    pub fn insert(&mut self, c: char) {
        if c.is_control() || self.bytes + c.len_utf8() > MAX_TEXT {
            return;
        }
        let at = self.byte_at(self.row, self.col);
        self.lines[self.row].insert(at, c);
        self.bytes += c.len_utf8();
        self.col += 1;
    }

    /// Breaks the line at the cursor.
    pub fn newline(&mut self) {
        if self.lines.len() >= MAX_LINES {
            return;
        }
        let at = self.byte_at(self.row, self.col);
        let rest = self.lines[self.row].split_off(at);
        self.lines.insert(self.row + 1, rest);
        self.row += 1;
        self.col = 0;
    }

    /// Text pasted or given at the start, typed as is (a line at a time,
    /// so a big paste costs one insertion per line).
    pub fn paste(&mut self, text: &str) {
        for (i, segment) in text.split('\n').enumerate() {
            if i > 0 {
                self.newline();
            }
            let mut clean = String::with_capacity(segment.len());
            for c in segment.chars() {
                match c {
                    '\t' => clean.push_str("    "),
                    c if c.is_control() => {}
                    c => clean.push(c),
                }
            }
            let room = MAX_TEXT.saturating_sub(self.bytes);
            if clean.len() > room {
                let mut end = room;
                while !clean.is_char_boundary(end) {
                    end -= 1;
                }
                clean.truncate(end);
            }
            let at = self.byte_at(self.row, self.col);
            self.lines[self.row].insert_str(at, &clean);
            self.bytes += clean.len();
            self.col += clean.chars().count();
        }
    }

    pub fn delete_line(&mut self) {
        let removed = self.lines.remove(self.row);
        self.bytes -= removed.len();
        if self.lines.is_empty() {
            self.lines.push(String::new());
        }
        self.row = self.row.min(self.lines.len() - 1);
        self.col = self.col.min(self.line_chars(self.row));
    }

    /// Handles an editing key; false for keys the editor does not use.
    pub fn key(&mut self, key: Key) -> bool {
        match key {
            Key::Char(c) => self.insert(c),
            Key::Enter => self.newline(),
            Key::Tab => self.paste("\t"),
            Key::Backspace => {
                if self.col > 0 {
                    self.col -= 1;
                    self.delete_here();
                } else if self.row > 0 {
                    let line = self.lines.remove(self.row);
                    self.row -= 1;
                    self.col = self.line_chars(self.row);
                    self.lines[self.row].push_str(&line);
                }
            }
            Key::Delete | Key::Ctrl('d') => {
                if self.col < self.line_chars(self.row) {
                    self.delete_here();
                } else if self.row + 1 < self.lines.len() {
                    let line = self.lines.remove(self.row + 1);
                    self.lines[self.row].push_str(&line);
                }
            }
            Key::Left | Key::Ctrl('b') => {
                if self.col > 0 {
                    self.col -= 1;
                } else if self.row > 0 {
                    self.row -= 1;
                    self.col = self.line_chars(self.row);
                }
            }
            Key::Right | Key::Ctrl('f') => {
                if self.col < self.line_chars(self.row) {
                    self.col += 1;
                } else if self.row + 1 < self.lines.len() {
                    self.row += 1;
                    self.col = 0;
                }
            }
            Key::Up | Key::Ctrl('p') => self.vertical(-1),
            Key::Down | Key::Ctrl('n') => self.vertical(1),
            Key::PageUp => self.vertical(-20),
            Key::PageDown => self.vertical(20),
            Key::Home | Key::Ctrl('a') => self.col = 0,
            Key::End | Key::Ctrl('e') => self.col = self.line_chars(self.row),
            _ => return false,
        }
        true
    }

    fn delete_here(&mut self) {
        let at = self.byte_at(self.row, self.col);
        let removed = self.lines[self.row].remove(at);
        self.bytes -= removed.len_utf8();
    }

    /// Moves `by` lines, keeping the display column as near as possible.
    fn vertical(&mut self, by: isize) {
        let column = self.cursor_column();
        self.row = self.row.saturating_add_signed(by).min(self.lines.len() - 1);
        let mut used = 0;
        self.col = 0;
        for c in self.lines[self.row].chars() {
            if used + char_width(c) > column {
                break;
            }
            used += char_width(c);
            self.col += 1;
        }
    }

    /// Display column of the cursor within its line.
    pub fn cursor_column(&self) -> usize {
        width(&self.lines[self.row][..self.byte_at(self.row, self.col)])
    }

    /// Draws the text into rows `y..y + rows` of `buffer` and puts the
    /// cursor there, scrolling so the cursor shows.
    pub fn draw(&mut self, buffer: &mut Buffer, y: u16, rows: u16) {
        let columns = usize::from(buffer.width());
        let rows = usize::from(rows.max(1));
        if self.row < self.top {
            self.top = self.row;
        } else if self.row >= self.top + rows {
            self.top = self.row + 1 - rows;
        }
        let cursor = self.cursor_column();
        // Keep two columns free right of the cursor (a wide character).
        if cursor < self.left {
            self.left = cursor.saturating_sub(columns / 2);
        } else if cursor + 2 > self.left + columns {
            self.left = cursor + 2 - columns + columns / 4;
        }
        for (i, line) in self.lines.iter().skip(self.top).take(rows).enumerate() {
            let row = y + i as u16;
            // Skip `left` columns, starting on a whole character.
            let mut skipped = 0;
            let mut start = line.len();
            let mut pad = 0;
            for (at, c) in line.char_indices() {
                if skipped >= self.left {
                    start = at;
                    pad = skipped - self.left;
                    break;
                }
                skipped += char_width(c);
            }
            buffer.put(pad as u16, row, &line[start..], Style::PLAIN, buffer.width());
        }
        let x = (cursor - self.left).min(columns.saturating_sub(1));
        buffer.cursor = Some((x as u16, y + (self.row - self.top) as u16));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_moves_by_whole_characters_and_sits_after_them() {
        let mut editor = Editor::new("中文ab");
        assert_eq!(editor.cursor_column(), 6);
        editor.key(Key::Left);
        editor.key(Key::Left);
        editor.key(Key::Left);
        assert_eq!(editor.cursor_column(), 2);
        editor.key(Key::Backspace);
        assert_eq!(editor.text(), "文ab");
        editor.key(Key::Enter);
        editor.insert('x');
        assert_eq!(editor.text(), "\nx文ab");
        editor.key(Key::Up);
        editor.delete_line();
        assert_eq!(editor.text(), "x文ab");
    }

    #[test]
    fn a_long_line_scrolls_sideways_and_the_cursor_stays_on_screen() {
        let mut editor = Editor::new(&"字".repeat(60));
        let mut buffer = Buffer::new(80, 5);
        editor.draw(&mut buffer, 1, 3);
        let (x, y) = buffer.cursor.unwrap();
        assert!(x < 80 && y == 1, "{x}");
        assert!(!buffer.row_text(1).is_empty());
    }

    #[test]
    fn pasting_past_the_limit_is_cut() {
        let editor = Editor::new(&"a".repeat(MAX_TEXT + 10));
        assert_eq!(editor.text().len(), MAX_TEXT);
    }
}
