//! The key tables: one per screen. A row names its keys, the hint drawn
//! on the screen's hint line, the line of help, and the action; the same
//! row dispatches the key and draws the hint, so the two cannot disagree.

use crate::input::Key;

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// Enter, →, r: open what the cursor is on.
    Open,
    /// q, ←: back to the screen before.
    Back,
    /// Ctrl-P: write a post (or a mail, on the mail screen).
    Post,
    /// y: reply to the post (or mail) being read.
    Reply,
    /// X: push (推), or pick 推/噓/→.
    Push,
    /// %: boo (噓).
    Boo,
    /// /: search every post.
    Search,
    /// Ctrl-U: who is online.
    Online,
    /// w: send a message.
    Message,
    /// Ctrl-R: answer the last message.
    ReplyMessage,
    Help,
    Redraw,
    NextPost,
    PreviousPost,
    Boards,
    Mail,
    Logout,
    /// Editor: Ctrl-X, save or abort.
    Save,
    /// Editor: Ctrl-Y, delete the line.
    DeleteLine,
}

/// One row of a key table.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub keys: &'static [Key],
    /// Drawn on the screen's hint line; empty: shown in help only.
    pub hint: &'static str,
    pub help: &'static str,
    pub action: Action,
}

const fn row(keys: &'static [Key], hint: &'static str, help: &'static str, action: Action) -> Binding {
    Binding { keys, hint, help, action }
}

use Key::{Char as C, Ctrl};

const MOVE_UP: Binding = row(&[C('k'), Key::Up, C('p')], "", "k, Up: move up", Action::Up);
const MOVE_DOWN: Binding = row(&[C('j'), Key::Down, C('n')], "j/k move", "j, Down: move down", Action::Down);
const PAGE_UP: Binding = row(&[Key::PageUp, C('b'), Ctrl('b')], "", "PgUp, b: previous page", Action::PageUp);
const PAGE_DOWN: Binding = row(&[Key::PageDown, C(' '), Ctrl('f')], "", "Space, PgDn: next page", Action::PageDown);
const TOP: Binding = row(&[Key::Home, C('0')], "", "Home, 0: first row", Action::Top);
const BOTTOM: Binding = row(&[Key::End, C('$')], "", "End, $: last row", Action::Bottom);
const OPEN: Binding = row(&[Key::Enter, Key::Right, C('r')], "Enter/r open", "Enter, Right, r: open", Action::Open);
const BACK: Binding = row(&[C('q'), Key::Left], "q back", "q, Left: back", Action::Back);
const SEARCH: Binding = row(&[C('/')], "/ search", "/: search every post", Action::Search);
const ONLINE: Binding = row(&[Ctrl('u')], "^U online", "Ctrl-U: who is online", Action::Online);
const MESSAGE: Binding = row(&[C('w')], "", "w: send a message", Action::Message);
const REPLY_MESSAGE: Binding = row(&[Ctrl('r')], "", "Ctrl-R: answer the last message", Action::ReplyMessage);
const HELP: Binding = row(&[C('h'), C('?')], "h help", "h, ?: this help", Action::Help);
const REDRAW: Binding = row(&[Ctrl('l')], "", "Ctrl-L: redraw the screen", Action::Redraw);

/// The main menu.
pub static MAIN: &[Binding] = &[
    MOVE_UP,
    MOVE_DOWN,
    OPEN,
    row(&[C('b'), C('B')], "(B)oards", "b: the board list", Action::Boards),
    row(&[C('m'), C('M')], "(M)ail", "m: your mail", Action::Mail),
    row(&[C('u'), C('U'), Ctrl('u')], "(U)sers", "u, Ctrl-U: who is online", Action::Online),
    row(&[C('s'), C('S'), C('/')], "(S)earch", "s, /: search every post", Action::Search),
    row(&[C('g'), C('G'), C('q'), Key::Left], "(G)oodbye", "g, q: log out and leave", Action::Logout),
    MESSAGE,
    REPLY_MESSAGE,
    HELP,
    REDRAW,
];

/// The board list.
pub static BOARDS: &[Binding] = &[
    MOVE_UP,
    MOVE_DOWN,
    PAGE_UP,
    PAGE_DOWN,
    TOP,
    BOTTOM,
    OPEN,
    BACK,
    SEARCH,
    ONLINE,
    MESSAGE,
    REPLY_MESSAGE,
    HELP,
    REDRAW,
];

/// The post list of one board.
pub static POSTS: &[Binding] = &[
    MOVE_UP,
    MOVE_DOWN,
    PAGE_UP,
    PAGE_DOWN,
    TOP,
    BOTTOM,
    OPEN,
    BACK,
    row(&[Ctrl('p')], "^P post", "Ctrl-P: write a post", Action::Post),
    row(&[C('X')], "X push", "X: push (推), boo (噓) or comment (→) the post", Action::Push),
    row(&[C('%')], "% boo", "%: boo (噓) the post", Action::Boo),
    row(&[C('y')], "", "y: reply to the post", Action::Reply),
    SEARCH,
    ONLINE,
    MESSAGE,
    REPLY_MESSAGE,
    HELP,
    REDRAW,
];

/// The reader.
pub static READER: &[Binding] = &[
    row(&[C('k'), Key::Up], "", "k, Up: scroll up", Action::Up),
    row(&[C('j'), Key::Down, Key::Enter], "j/k scroll", "j, Down, Enter: scroll down", Action::Down),
    row(&[Key::PageUp, C('b'), Ctrl('b')], "", "PgUp, b: previous page", Action::PageUp),
    row(&[Key::PageDown, C(' '), Ctrl('f')], "Space page", "Space, PgDn: next page", Action::PageDown),
    TOP,
    BOTTOM,
    row(&[C(']'), C('n'), C('=')], "]/[ next/prev", "], n: next post", Action::NextPost),
    row(&[C('['), C('p'), C('-')], "", "[, p: previous post", Action::PreviousPost),
    row(&[C('q'), Key::Left], "q back", "q, Left: back to the list", Action::Back),
    row(&[C('X')], "X push", "X: push (推), boo (噓) or comment (→)", Action::Push),
    row(&[C('%')], "% boo", "%: boo (噓)", Action::Boo),
    row(&[C('y'), C('r')], "y reply", "y, r: reply", Action::Reply),
    ONLINE,
    MESSAGE,
    REPLY_MESSAGE,
    HELP,
    REDRAW,
];

/// Online users, mail and search results: lists whose rows open.
pub static ONLINE_LIST: &[Binding] = &[
    MOVE_UP,
    MOVE_DOWN,
    PAGE_UP,
    PAGE_DOWN,
    TOP,
    BOTTOM,
    row(&[C('w'), Key::Enter, Key::Right, C('r')], "w/Enter message", "w, Enter: send a message", Action::Message),
    BACK,
    REPLY_MESSAGE,
    HELP,
    REDRAW,
];

pub static MAIL: &[Binding] = &[
    MOVE_UP,
    MOVE_DOWN,
    PAGE_UP,
    PAGE_DOWN,
    TOP,
    BOTTOM,
    OPEN,
    BACK,
    row(&[Ctrl('p'), C('m')], "^P write", "Ctrl-P, m: write a mail", Action::Post),
    ONLINE,
    MESSAGE,
    REPLY_MESSAGE,
    HELP,
    REDRAW,
];

pub static SEARCH_RESULTS: &[Binding] = &[
    MOVE_UP,
    MOVE_DOWN,
    PAGE_UP,
    PAGE_DOWN,
    TOP,
    BOTTOM,
    OPEN,
    BACK,
    SEARCH,
    ONLINE,
    MESSAGE,
    REPLY_MESSAGE,
    HELP,
    REDRAW,
];

pub static HELP_SCREEN: &[Binding] =
    &[row(&[C('q'), Key::Left, Key::Enter, C(' '), C('h')], "q back", "q: back", Action::Back), REDRAW];

/// The editor: printable keys type; these are the rest.
pub static EDITOR: &[Binding] = &[
    row(&[Ctrl('x')], "^X save/abort", "Ctrl-X: save, abort or go on editing", Action::Save),
    row(&[Ctrl('y')], "^Y delete line", "Ctrl-Y: delete the line", Action::DeleteLine),
    REDRAW,
];

/// The action `key` has in `table`.
pub fn lookup(table: &[Binding], key: Key) -> Option<Action> {
    table.iter().find(|binding| binding.keys.contains(&key)).map(|binding| binding.action)
}

/// The hint line of `table`.
pub fn hints(table: &[Binding]) -> String {
    table.iter().filter(|b| !b.hint.is_empty()).map(|b| b.hint).collect::<Vec<_>>().join("  ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_table_binds_one_key_twice() {
        for table in [MAIN, BOARDS, POSTS, READER, ONLINE_LIST, MAIL, SEARCH_RESULTS, HELP_SCREEN, EDITOR] {
            let mut seen = std::collections::HashSet::new();
            for binding in table {
                for key in binding.keys {
                    assert!(seen.insert(*key), "{key:?} twice");
                }
            }
        }
    }
}
