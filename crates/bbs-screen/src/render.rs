//! Drawing each screen into a [`Buffer`]. Every screen has the same
//! frame: a title bar (reverse video) on top, the key hints of its table
//! under it, and a status bar (reverse video) at the bottom that shows
//! messages and prompts; all chrome is ASCII, so it lines up on any
//! terminal, and text is cut by display width.

use crate::app::{App, Article, CommentKind, Compose, ListRow, Screen, View, MENU};
use crate::buffer::{Buffer, Style};
use crate::keys::hints;
use crate::text::{ellipsize, fit, width, wrap};

pub(crate) fn draw(app: &mut App, buffer: &mut Buffer) {
    let (w, h) = (buffer.width(), buffer.height());
    let screen = app.screen();
    match app.view().clone() {
        View::Login { fields, focus } => draw_login(app, buffer, &fields, focus),
        View::Main { cursor } => {
            frame(app, buffer, "Main menu", screen);
            let top = 3;
            for (i, (label, _)) in MENU.iter().enumerate() {
                let y = top + i as u16 * 2;
                if y >= h - 1 {
                    break;
                }
                let x = w.saturating_sub(40) / 2;
                let style = if i == cursor { Style::REVERSE } else { Style::PLAIN };
                let marker = if i == cursor { "> " } else { "  " };
                buffer.put(x, y, &format!("{marker}{label}"), style, w);
            }
        }
        View::Boards { cursor } => {
            frame(app, buffer, "Boards", screen);
            header(buffer, "   Index  Board                Moderator");
            let rows: Vec<String> = app
                .boards
                .iter()
                .map(|b| {
                    format!(
                        "{:>6} {} {} {}",
                        b.index,
                        if b.unread { "*" } else { " " },
                        fit(&b.name, 20),
                        ellipsize(&b.moderator, 20)
                    )
                })
                .collect();
            list(app, buffer, &rows, cursor, "No boards yet.");
        }
        View::Posts { cursor } => {
            let title = format!("Board: {}", app.board);
            frame(app, buffer, &title, screen);
            header(buffer, "     S/N   Push  Date  Author        Title");
            let rows: Vec<String> = app
                .posts
                .iter()
                .map(|p| {
                    let number = if p.pinned { "   pin".to_owned() } else { format!("{:>6}", p.id) };
                    format!(
                        "{number} {} {:>4} {:>5}  {} {}",
                        if p.unread { "+" } else { " " },
                        push_column(p.pushes),
                        p.date,
                        fit(&p.author, 13),
                        p.title
                    )
                })
                .collect();
            list(app, buffer, &rows, cursor, "No posts yet. Ctrl-P writes the first.");
            color_push_column(app, buffer, cursor);
        }
        View::Reader { top } => draw_reader(app, buffer, top),
        View::Editor { .. } => draw_editor(app, buffer),
        View::Online { cursor } => {
            frame(app, buffer, "Online users", screen);
            header(buffer, "   User              From                 Idle");
            let rows = texts(&app.online);
            list(app, buffer, &rows, cursor, "Nobody is online.");
        }
        View::Mail { cursor } => {
            frame(app, buffer, "Mail", screen);
            header(buffer, "     #  From          Date   Subject");
            let rows = texts(&app.mail);
            list(app, buffer, &rows, cursor, "No mail. Ctrl-P writes one.");
        }
        View::Search { cursor } => {
            let title = format!("Search: {}", app.search_words);
            frame(app, buffer, &title, screen);
            header(buffer, "     S/N  Board         Author        Title");
            let rows = texts(&app.hits);
            list(app, buffer, &rows, cursor, "No posts found.");
        }
        View::Help { of } => {
            frame(app, buffer, &format!("Help: {of:?}"), screen);
            let mut y = 2;
            for binding in App::table(of) {
                if y >= h - 1 {
                    break;
                }
                buffer.put(2, y, binding.help, Style::PLAIN, w);
                y += 1;
            }
            if y < h - 1 && of != Screen::Editor {
                buffer.put(
                    2,
                    y + 1,
                    "Messages appear on the bottom line; the editor holds them until it closes.",
                    Style::PLAIN,
                    w,
                );
            }
        }
    }
    status_bar(app, buffer);
}

fn texts(rows: &[ListRow]) -> Vec<String> {
    rows.iter().map(|r| r.text.clone()).collect()
}

/// The push count as PTT shows it.
fn push_column(count: i64) -> String {
    match count {
        100.. => "爆".to_owned(),
        1..=99 => count.to_string(),
        -10..=0 => String::new(),
        -99..=-11 => format!("X{}", -count / 10),
        _ => "XX".to_owned(),
    }
}

/// Title bar, hint line.
fn frame(app: &App, buffer: &mut Buffer, title: &str, screen: Screen) {
    let w = buffer.width();
    buffer.fill(0, 0, w, Style::REVERSE);
    let right = format!("{} ", app.name);
    let left = format!(" [{}]", title);
    let room = usize::from(w).saturating_sub(width(&right) + 1);
    buffer.put(0, 0, &ellipsize(&left, room), Style::REVERSE, w);
    buffer.put(w.saturating_sub(width(&right) as u16), 0, &right, Style::REVERSE, w);
    buffer.put(1, 1, &ellipsize(&hints(App::table(screen)), usize::from(w) - 1), Style::PLAIN, w);
}

fn header(buffer: &mut Buffer, text: &str) {
    let w = buffer.width();
    buffer.fill(0, 2, w, Style::REVERSE);
    buffer.put(0, 2, text, Style::REVERSE, w);
}

/// A page of `rows` from row 3, the page holding `cursor`.
fn list(app: &App, buffer: &mut Buffer, rows: &[String], cursor: usize, empty: &str) {
    let w = buffer.width();
    let page = app.page();
    if rows.is_empty() {
        buffer.put(4, 4, empty, Style::PLAIN, w);
        return;
    }
    let cursor = cursor.min(rows.len() - 1);
    let top = page_top(cursor, page, rows.len());
    for (i, row) in rows.iter().enumerate().skip(top).take(page) {
        let y = 3 + (i - top) as u16;
        if i == cursor {
            buffer.put(0, y, ">", Style::BOLD, w);
        }
        buffer.put(1, y, row, Style::PLAIN, w);
    }
}

/// First row shown: pages of `page` rows, the last page full (as PTT).
fn page_top(cursor: usize, page: usize, len: usize) -> usize {
    (cursor / page * page).min(len.saturating_sub(page))
}

/// Colours the push column of the post list (after the text is drawn).
fn color_push_column(app: &App, buffer: &mut Buffer, cursor: usize) {
    let page = app.page();
    if app.posts.is_empty() {
        return;
    }
    let cursor = cursor.min(app.posts.len() - 1);
    let top = page_top(cursor, page, app.posts.len());
    for (i, post) in app.posts.iter().enumerate().skip(top).take(page) {
        let text = push_column(post.pushes);
        if text.is_empty() {
            continue;
        }
        let color = match post.pushes {
            100.. => 1,
            10..=99 => 3,
            1..=9 => 2,
            _ => 0,
        };
        let y = 3 + (i - top) as u16;
        // Column of the push count: 1 + 6 + 1 + 1 + 1, right-aligned in 4.
        let x = 10 + 4 - width(&text) as u16;
        buffer.put(x, y, &text, Style::color(color), 14);
    }
}

fn status_bar(app: &App, buffer: &mut Buffer) {
    let (w, h) = (buffer.width(), buffer.height());
    let y = h - 1;
    if let Some(prompt) = &app.prompt {
        buffer.fill(0, y, w, Style::PLAIN);
        let x = buffer.put(0, y, &prompt.label, Style::BOLD, w);
        // The end of a long answer shows, where the typing is.
        let room = usize::from(w.saturating_sub(x + 1));
        let mut shown = prompt.answer.as_str();
        while width(shown) > room {
            let mut chars = shown.chars();
            chars.next();
            shown = chars.as_str();
        }
        let end = buffer.put(x, y, shown, Style::PLAIN, w);
        buffer.cursor = Some((end.min(w - 1), y));
        return;
    }
    buffer.fill(0, y, w, Style::REVERSE);
    let text = match (&app.status, app.screen()) {
        (Some(message), _) => format!(" {message}"),
        (None, Screen::Reader) => reader_position(app),
        (None, Screen::Editor) => editor_status(app),
        (None, Screen::Login) => " Type new as the username to register.".to_owned(),
        (None, _) => format!(" {}  |  h help  Ctrl-U online  w message", app.user.as_deref().unwrap_or("")),
    };
    buffer.put(0, y, &ellipsize(&text, usize::from(w)), Style::REVERSE, w);
}

fn draw_login(app: &App, buffer: &mut Buffer, fields: &[crate::app::Field], focus: usize) {
    let (w, h) = (buffer.width(), buffer.height());
    buffer.fill(0, 0, w, Style::REVERSE);
    buffer.put(1, 0, &format!("[{}]", app.name), Style::REVERSE, w);
    let banner =
        ["********************************", "** Welcome to the BBS server. **", "********************************"];
    let x = w.saturating_sub(32) / 2;
    let top = (h / 2).saturating_sub(5).max(2);
    for (i, line) in banner.iter().enumerate() {
        buffer.put(x, top + i as u16, line, Style::BOLD, w);
    }
    let y0 = top + 4;
    let mut cursor = None;
    for (i, field) in fields.iter().enumerate() {
        let y = y0 + i as u16;
        if y >= h - 1 {
            break;
        }
        let label_end = buffer.put(x, y, &format!("{:<14}", field.label), Style::PLAIN, w);
        let shown = if field.secret { "*".repeat(field.value.chars().count()) } else { field.value.clone() };
        let end = buffer.put(label_end, y, &ellipsize(&shown, usize::from(w - label_end)), Style::PLAIN, w);
        if i == focus {
            cursor = Some((end.min(w - 1), y));
        }
    }
    buffer.cursor = cursor;
}

impl App {
    /// The reader's lines at the current width, with their styles.
    pub(crate) fn article_lines(&self) -> Vec<(String, Style)> {
        let Some(article) = &self.article else { return vec![("Loading...".into(), Style::PLAIN)] };
        article_lines(article, usize::from(self.width))
    }
}

fn article_lines(article: &Article, columns: usize) -> Vec<(String, Style)> {
    let mut lines = Vec::new();
    let (who, place) = if article.is_mail { ("From", "Mail") } else { ("Author", "Board") };
    // Header rows: a long value goes on under its label.
    let mut head = |label: &str, value: &str| {
        for (i, piece) in wrap(value, columns.saturating_sub(10).max(10)).into_iter().enumerate() {
            let label = if i == 0 { label } else { "" };
            lines.push((format!(" {label:<7} {piece}"), Style::REVERSE));
        }
    };
    head(who, &article.author);
    if article.is_mail {
        head(place, &format!("#{}", article.id));
    } else {
        head(place, &format!("{}  S/N {}", article.board, article.id));
    }
    head("Title", &article.title);
    head("Time", &article.date);
    lines.push(("-".repeat(columns.min(78)), Style::PLAIN));
    for line in article.content.split('\n') {
        for piece in wrap(line, columns) {
            lines.push((piece.to_owned(), Style::PLAIN));
        }
    }
    if !article.comments.is_empty() {
        lines.push(("--".into(), Style::PLAIN));
    }
    for comment in &article.comments {
        let (mark, style) = match comment.kind {
            CommentKind::Push => ("推", Style::color(7)),
            CommentKind::Boo => ("噓", Style::color(1)),
            CommentKind::Arrow => ("→", Style::color(3)),
        };
        let text = format!("{mark} {}: {}", comment.author, comment.text);
        for piece in wrap(&text, columns) {
            lines.push((piece.to_owned(), style));
        }
    }
    lines
}

fn draw_reader(app: &App, buffer: &mut Buffer, top: usize) {
    let (w, h) = (buffer.width(), buffer.height());
    let lines = app.article_lines();
    let rows = usize::from(h - 1);
    let top = top.min(lines.len().saturating_sub(rows));
    for (i, (line, style)) in lines.iter().skip(top).take(rows).enumerate() {
        if style.reverse {
            buffer.fill(0, i as u16, w, *style);
        }
        buffer.put(0, i as u16, line, *style, w);
    }
}

fn reader_position(app: &App) -> String {
    let View::Reader { top } = app.view() else { return String::new() };
    let lines = app.article_lines().len();
    let rows = usize::from(app.height - 1);
    let top = (*top).min(lines.saturating_sub(rows));
    let last = (top + rows).min(lines);
    let percent = (last * 100).checked_div(lines).unwrap_or(100);
    format!(" Lines {}-{}/{} ({percent}%)  {}", top + 1, last, lines, hints(App::table(Screen::Reader)))
}

fn editor_status(app: &App) -> String {
    let View::Editor { editor, .. } = app.view() else { return String::new() };
    let (row, col) = editor.cursor();
    let held = match app.held() {
        0 => String::new(),
        n => format!("  ({n} message(s) waiting)"),
    };
    format!(" Line {} Col {}  {}{held}", row + 1, col + 1, hints(App::table(Screen::Editor)))
}

fn draw_editor(app: &mut App, buffer: &mut Buffer) {
    let (w, h) = (buffer.width(), buffer.height());
    buffer.fill(0, 0, w, Style::REVERSE);
    let title = match app.editor_mut() {
        Some((_, Compose::Post { board, title })) => format!(" [Post to {board}] {title}"),
        Some((_, Compose::Mail { to, subject })) => format!(" [Mail to {to}] {subject}"),
        None => return,
    };
    buffer.put(0, 0, &ellipsize(&title, usize::from(w)), Style::REVERSE, w);
    if let Some((editor, _)) = app.editor_mut() {
        editor.draw(buffer, 1, h - 2);
    }
}
