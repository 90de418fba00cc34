//! Text measured in terminal columns: a CJK character takes two, a
//! combining mark none. Cutting and wrapping work on whole characters, so
//! a title is never cut inside a character and columns stay aligned.

use unicode_width::UnicodeWidthChar;

/// Columns `c` takes on screen; control characters take none (they are
/// never drawn).
pub fn char_width(c: char) -> usize {
    if c.is_control() {
        return 0;
    }
    c.width().unwrap_or(0)
}

/// Columns `text` takes.
pub fn width(text: &str) -> usize {
    text.chars().map(char_width).sum()
}

/// The longest start of `text` that fits in `columns`, and its width.
pub fn cut(text: &str, columns: usize) -> (&str, usize) {
    let mut used = 0;
    for (at, c) in text.char_indices() {
        let w = char_width(c);
        if used + w > columns {
            return (&text[..at], used);
        }
        used += w;
    }
    (text, used)
}

/// `text` cut to `columns` and padded with spaces to exactly `columns`.
pub fn fit(text: &str, columns: usize) -> String {
    let (head, used) = cut(text, columns);
    let mut out = String::with_capacity(head.len() + columns - used);
    out.push_str(head);
    out.extend(std::iter::repeat_n(' ', columns - used));
    out
}

/// `text` cut to `columns`, ending in `…`-like `..` when something was cut
/// (ASCII, so it takes the same room everywhere).
pub fn ellipsize(text: &str, columns: usize) -> String {
    if width(text) <= columns {
        return text.to_owned();
    }
    if columns < 2 {
        return cut(text, columns).0.to_owned();
    }
    let (head, _) = cut(text, columns - 2);
    format!("{head}..")
}

/// `line` broken into pieces of at most `columns` each (at least one
/// piece, maybe empty), never inside a character.
pub fn wrap(line: &str, columns: usize) -> Vec<&str> {
    let columns = columns.max(2);
    let mut pieces = Vec::new();
    let mut rest = line;
    loop {
        let (head, _) = cut(rest, columns);
        if head.len() == rest.len() {
            pieces.push(rest);
            return pieces;
        }
        // A character wider than the row still moves on.
        let head = if head.is_empty() { &rest[..rest.chars().next().map_or(0, char::len_utf8)] } else { head };
        pieces.push(head);
        rest = &rest[head.len()..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_takes_two_columns_and_is_never_cut_in_half() {
        assert_eq!(width("看板abc"), 7);
        assert_eq!(cut("看板abc", 3), ("看", 2));
        assert_eq!(fit("看板abc", 3), "看 ");
        assert_eq!(ellipsize("今天天氣很好", 7), "今天..");
        assert_eq!(wrap("一二三四五", 4), vec!["一二", "三四", "五"]);
        assert_eq!(wrap("", 4), vec![""]);
    }
}
