//! Output tables (spec §3): left-aligned columns, each but the last padded
//! to its widest cell plus two spaces, widths in terminal columns so that
//! CJK text lines up, and no trailing spaces.

use unicode_width::UnicodeWidthStr;

/// Formats a header row and the data rows; lines joined by `\n`.
pub fn format_table<S: AsRef<str>>(headers: &[&str], rows: &[Vec<S>]) -> String {
    let columns = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| columns_of(h)).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(columns_of(cell.as_ref()));
        }
    }
    let mut out = String::with_capacity((widths.iter().sum::<usize>() + 2 * columns + 1) * (rows.len() + 1));
    push_row(&mut out, &widths, headers);
    for row in rows {
        out.push('\n');
        push_row(&mut out, &widths, row);
    }
    out
}

/// Appends one line of a table whose column widths are known (each the
/// widest cell of its column, header included, in [`cell_width`]s), without
/// a line break. A table sent in pieces is its header and rows pushed one
/// by one, separated by `\n`: the same bytes as [`format_table`].
pub fn push_row<S: AsRef<str>>(out: &mut String, widths: &[usize], cells: &[S]) {
    let columns = widths.len();
    // Built in place, then trailing spaces cut: no line ends in spaces.
    let start = out.len();
    for (i, cell) in cells.iter().map(AsRef::as_ref).enumerate().take(columns) {
        out.push_str(cell);
        if i + 1 < columns {
            // Saturating: a cell wider than its column (a caller's widths
            // out of date) shifts the line instead of panicking.
            out.extend(std::iter::repeat_n(' ', widths[i].saturating_sub(columns_of(cell)) + 2));
        }
    }
    let kept = out[start..].trim_end().len();
    out.truncate(start + kept);
}

/// Terminal columns a cell takes (CJK characters take two).
pub fn cell_width(s: &str) -> usize {
    columns_of(s)
}

/// Terminal columns of `s`; printable ASCII (nearly every cell) is one
/// column per byte and skips the Unicode tables, which dominated the cost
/// of `list-post` on a busy server.
fn columns_of(s: &str) -> usize {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        s.len()
    } else {
        s.width()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example() {
        let rows = vec![vec!["Bob", "bob@qwer.asdf"]];
        assert_eq!(format_table(&["Name", "Email"], &rows), "Name  Email\nBob   bob@qwer.asdf");
    }

    #[test]
    fn cjk_counts_two_columns() {
        let rows = vec![vec!["1", "公告", "u"], vec!["2", "ab", "v"]];
        assert_eq!(
            format_table(&["S/N", "Title", "Author"], &rows),
            "S/N  Title  Author\n1    公告   u\n2    ab     v"
        );
    }

    #[test]
    fn empty_last_cell_leaves_no_trailing_space() {
        let rows = vec![vec!["a", ""]];
        assert_eq!(format_table(&["X", "Y"], &rows), "X  Y\na");
    }
}
