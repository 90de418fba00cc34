//! A screen as a grid of cells, and the renderer that sends a terminal
//! only what changed since the frame it last sent.
//!
//! A wide (CJK) character fills its cell and the next, which holds a
//! continuation marker; writing over either half blanks the other, so the
//! grid never holds half a character and the renderer never sends one.

use crate::text::char_width;

/// How a cell is drawn. The chrome uses reverse video only, so the screen
/// reads on any terminal; colour marks pushes and boos.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Style {
    pub reverse: bool,
    pub bold: bool,
    /// An ANSI colour 0–7 for the text.
    pub color: Option<u8>,
}

impl Style {
    pub const PLAIN: Style = Style { reverse: false, bold: false, color: None };
    pub const REVERSE: Style = Style { reverse: true, bold: false, color: None };
    pub const BOLD: Style = Style { reverse: false, bold: true, color: None };

    pub const fn color(color: u8) -> Style {
        Style { reverse: false, bold: true, color: Some(color) }
    }
}

/// The right half of a wide character.
const CONTINUATION: char = '\0';

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cell {
    ch: char,
    style: Style,
}

const BLANK: Cell = Cell { ch: ' ', style: Style::PLAIN };

/// One frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buffer {
    width: u16,
    height: u16,
    cells: Vec<Cell>,
    /// Where the terminal's cursor shows, if anywhere.
    pub cursor: Option<(u16, u16)>,
}

impl Buffer {
    pub fn new(width: u16, height: u16) -> Buffer {
        let (width, height) = (width.max(1), height.max(1));
        Buffer { width, height, cells: vec![BLANK; usize::from(width) * usize::from(height)], cursor: None }
    }

    pub fn width(&self) -> u16 {
        self.width
    }

    pub fn height(&self) -> u16 {
        self.height
    }

    /// Blanks every cell and hides the cursor; the size stays.
    pub fn clear(&mut self) {
        self.cells.fill(BLANK);
        self.cursor = None;
    }

    fn index(&self, x: u16, y: u16) -> usize {
        usize::from(y) * usize::from(self.width) + usize::from(x)
    }

    /// Sets one cell, blanking the other half of a wide character it cuts.
    fn set(&mut self, x: u16, y: u16, cell: Cell) {
        let i = self.index(x, y);
        if self.cells[i].ch == CONTINUATION && x > 0 {
            self.cells[i - 1].ch = ' ';
        }
        if x + 1 < self.width && self.cells[i + 1].ch == CONTINUATION && cell.ch != CONTINUATION {
            self.cells[i + 1].ch = ' ';
        }
        self.cells[i] = cell;
    }

    /// Writes `text` from column `x` of row `y`, up to column `end`
    /// (exclusive, at most the width); returns the column after it. A wide
    /// character that does not fit whole leaves a blank instead.
    pub fn put(&mut self, x: u16, y: u16, text: &str, style: Style, end: u16) -> u16 {
        if y >= self.height {
            return x;
        }
        let end = end.min(self.width);
        let mut x = x;
        for c in text.chars() {
            let c = if c == '\t' { ' ' } else { c };
            let w = char_width(c) as u16;
            if w == 0 {
                continue;
            }
            if x + w > end {
                if x < end {
                    self.set(x, y, Cell { ch: ' ', style });
                    x += 1;
                }
                break;
            }
            self.set(x, y, Cell { ch: c, style });
            if w == 2 {
                self.set(x + 1, y, Cell { ch: CONTINUATION, style });
            }
            x += w;
        }
        x
    }

    /// Fills columns `x..end` of row `y` with spaces in `style`.
    pub fn fill(&mut self, x: u16, y: u16, end: u16, style: Style) {
        if y >= self.height {
            return;
        }
        for col in x..end.min(self.width) {
            self.set(col, y, Cell { ch: ' ', style });
        }
    }

    /// Row `y` as text (wide characters once), trailing spaces removed.
    pub fn row_text(&self, y: u16) -> String {
        let start = self.index(0, y);
        let row: String = self.cells[start..start + usize::from(self.width)]
            .iter()
            .filter(|cell| cell.ch != CONTINUATION)
            .map(|cell| cell.ch)
            .collect();
        row.trim_end().to_owned()
    }

    /// The whole screen as text, a line per row.
    pub fn text(&self) -> String {
        (0..self.height).map(|y| self.row_text(y)).collect::<Vec<_>>().join("\n")
    }

    /// Whether cell (`x`, `y`) is drawn in reverse video.
    pub fn is_reverse(&self, x: u16, y: u16) -> bool {
        self.cells[self.index(x, y)].style.reverse
    }
}

/// Sends frames to one terminal: the first (and any after a resize or
/// [`Renderer::invalidate`]) whole, later ones as the rows that changed.
#[derive(Debug, Default)]
pub struct Renderer {
    /// What the terminal shows now.
    shown: Option<Buffer>,
}

impl Renderer {
    pub fn new() -> Renderer {
        Renderer::default()
    }

    /// Forgets what the terminal shows: the next frame is drawn whole
    /// (Ctrl-L, a resize, a terminal that may have been scribbled on).
    pub fn invalidate(&mut self) {
        self.shown = None;
    }

    /// [`Renderer::render`], keeping `next` as the frame shown instead of
    /// a copy: a session that draws each frame into a fresh buffer holds
    /// one frame between draws, not two.
    pub fn render_owned(&mut self, next: Buffer, out: &mut Vec<u8>) {
        self.render(&next, out);
        self.shown = Some(next);
    }

    /// Appends to `out` what turns the terminal's screen into `next`.
    pub fn render(&mut self, next: &Buffer, out: &mut Vec<u8>) {
        let whole = match &self.shown {
            Some(shown) => shown.width != next.width || shown.height != next.height,
            None => true,
        };
        let mut style: Option<Style> = None;
        let cursor_moved = self.shown.as_ref().map(|shown| shown.cursor) != Some(next.cursor);
        let whole_out = out;
        let mut body = Vec::new();
        let out = &mut body;
        if whole {
            // Reset attributes; clear.
            out.extend_from_slice(b"\x1b[0m\x1b[H\x1b[2J");
            style = Some(Style::PLAIN);
        }
        for y in 0..next.height {
            let start = next.index(0, y);
            let row = &next.cells[start..start + usize::from(next.width)];
            let (first, last) = if whole {
                match row.iter().rposition(|cell| *cell != BLANK) {
                    Some(last) => (0, last),
                    None => continue,
                }
            } else {
                let shown = self.shown.as_ref().expect("a frame was shown");
                let old = &shown.cells[start..start + usize::from(next.width)];
                let Some(first) = (0..row.len()).find(|&i| row[i] != old[i]) else { continue };
                let last = (0..row.len()).rfind(|&i| row[i] != old[i]).unwrap_or(first);
                (first, last)
            };
            // Start on a whole character; end after one.
            let first = if row[first].ch == CONTINUATION && first > 0 { first - 1 } else { first };
            let last = if last + 1 < row.len() && row[last + 1].ch == CONTINUATION { last + 1 } else { last };
            move_to(out, first as u16, y);
            for cell in &row[first..=last] {
                if cell.ch == CONTINUATION {
                    continue;
                }
                if style != Some(cell.style) {
                    set_style(out, cell.style);
                    style = Some(cell.style);
                }
                let mut utf8 = [0u8; 4];
                out.extend_from_slice(cell.ch.encode_utf8(&mut utf8).as_bytes());
            }
        }
        if matches!(style, Some(style) if style != Style::PLAIN) {
            out.extend_from_slice(b"\x1b[0m");
        }
        if !body.is_empty() || cursor_moved {
            // The cursor hides while drawing, and shows where it belongs.
            whole_out.extend_from_slice(b"\x1b[?25l");
            whole_out.extend_from_slice(&body);
            if let Some((x, y)) = next.cursor {
                move_to(whole_out, x, y);
                whole_out.extend_from_slice(b"\x1b[?25h");
            }
        }
        match &mut self.shown {
            Some(shown) if !whole => shown.clone_from(next),
            _ => self.shown = Some(next.clone()),
        }
    }
}

fn move_to(out: &mut Vec<u8>, x: u16, y: u16) {
    out.extend_from_slice(format!("\x1b[{};{}H", y + 1, x + 1).as_bytes());
}

fn set_style(out: &mut Vec<u8>, style: Style) {
    out.extend_from_slice(b"\x1b[0");
    if style.bold {
        out.extend_from_slice(b";1");
    }
    if style.reverse {
        out.extend_from_slice(b";7");
    }
    if let Some(color) = style.color {
        out.extend_from_slice(format!(";3{}", color.min(7)).as_bytes());
    }
    out.push(b'm');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8], width: u16, height: u16) -> vt100::Parser {
        let mut parser = vt100::Parser::new(height, width, 0);
        parser.process(bytes);
        parser
    }

    fn terminal_rows(parser: &vt100::Parser) -> Vec<String> {
        parser.screen().rows(0, parser.screen().size().1).map(|r| r.trim_end().to_owned()).collect()
    }

    #[test]
    fn diffs_keep_a_real_terminal_equal_to_the_buffer() {
        let mut renderer = Renderer::new();
        let mut buffer = Buffer::new(20, 4);
        let mut bytes = Vec::new();
        buffer.put(0, 0, "看板 Board", Style::REVERSE, 20);
        buffer.put(0, 1, "hello", Style::PLAIN, 20);
        renderer.render(&buffer, &mut bytes);
        let first = bytes.len();
        // Overwrite half of a wide character, change one word.
        buffer.put(1, 0, "x", Style::REVERSE, 20);
        buffer.put(0, 1, "help", Style::PLAIN, 20);
        buffer.put(18, 3, "中文", Style::PLAIN, 20);
        renderer.render(&buffer, &mut bytes);
        let parser = parse(&bytes, 20, 4);
        let expected: Vec<String> = (0..4).map(|y| buffer.row_text(y)).collect();
        assert_eq!(terminal_rows(&parser), expected);
        assert_eq!(buffer.row_text(0), " x板 Board", "the cut half of 看 is blanked");
        assert_eq!(buffer.row_text(3), format!("{}中", " ".repeat(18)));
        assert!(parser.screen().cell(0, 0).unwrap().inverse());
        // Nothing changed: only cursor bookkeeping goes out.
        let before = bytes.len();
        renderer.render(&buffer, &mut bytes);
        assert_eq!(bytes.len(), before, "{:?}", &bytes[before..]);
        assert!(bytes.len() - first < first, "the diff is smaller than the first frame");
    }

    #[test]
    fn a_wide_character_that_does_not_fit_leaves_a_blank() {
        let mut buffer = Buffer::new(5, 1);
        let end = buffer.put(0, 0, "ab中文", Style::PLAIN, 5);
        assert_eq!(end, 5);
        assert_eq!(buffer.row_text(0), "ab中");
    }
}
