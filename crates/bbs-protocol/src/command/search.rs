//! Command types of keyword search, full-text search and subscriptions,
//! and the parsing they need beyond the shared helpers of the table.

use super::Args;

/// What a subscription follows: a board or an author, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionTarget {
    Board(String),
    Author(String),
}

impl SubscriptionTarget {
    pub fn name(&self) -> &str {
        match self {
            SubscriptionTarget::Board(name) | SubscriptionTarget::Author(name) => name,
        }
    }
}

/// Whether `text` passes a `##<key>` filter: no key, or `text` contains
/// the key, case-insensitively and literally (`%`, `_`, `*` are just
/// characters).
pub fn matches_key(key: Option<&str>, text: &str) -> bool {
    key.is_none_or(|key| text.to_lowercase().contains(&key.to_lowercase()))
}

/// `search <words>`: posts containing every word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    pub words: Vec<String>,
}

/// `subscribe --board <board> --keyword <keyword>` (or `--author`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    pub target: SubscriptionTarget,
    /// The rest of the line after `--keyword`, as typed.
    pub keyword: String,
}

/// `unsubscribe --board <board>` (or `--author`): every keyword of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    pub target: SubscriptionTarget,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListSub;

pub(super) const SUBSCRIBE_AUTHOR_USAGE: &str = "Usage: subscribe --author <author-name> --keyword <keyword>";
pub(super) const UNSUBSCRIBE_AUTHOR_USAGE: &str = "Usage: unsubscribe --author <author-name>";

/// The usage answer of a malformed line when it is not the table's: a
/// malformed `subscribe` or `unsubscribe` that names `--author` is shown
/// the `--author` form.
pub(super) fn usage_variant(name: &str, rest: &str) -> Option<&'static str> {
    let names_author = rest.split_whitespace().any(|w| w == "--author");
    match name {
        "subscribe" if names_author => Some(SUBSCRIBE_AUTHOR_USAGE),
        "unsubscribe" if names_author => Some(UNSUBSCRIBE_AUTHOR_USAGE),
        _ => None,
    }
}

/// The optional `##<key>` filter of `list-board` and `list-post`: nothing
/// (`Some(None)`), or `##` and the rest of the line, trimmed, as the key
/// (empty: everything matches). Anything else is malformed (`None`).
pub(super) fn key_filter(text: &str) -> Option<Option<String>> {
    let text = text.trim();
    if text.is_empty() {
        return Some(None);
    }
    text.strip_prefix("##").map(|key| Some(key.trim().to_owned()))
}

/// `list-post <board> [##<key>]`: the board, and the filter.
pub(super) fn board_and_key(a: &Args<'_>) -> Option<(String, Option<String>)> {
    let rest = a.rest.trim_start();
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let board = &rest[..end];
    if board.is_empty() {
        return None;
    }
    Some((board.to_owned(), key_filter(&rest[end..])?))
}

pub(super) fn parse_search(a: &Args<'_>) -> Option<Search> {
    let words: Vec<String> = a.words().into_iter().map(str::to_owned).collect();
    (!words.is_empty()).then_some(Search { words })
}

/// `--board <name> --keyword <text>` in either order, or `--author`.
pub(super) fn parse_subscribe(a: &Args<'_>) -> Option<Subscribe> {
    let rest = a.rest;
    let mut marks: Vec<(usize, usize, &str)> = Vec::new();
    let mut offset = 0;
    for word in rest.split_whitespace() {
        let start = offset + rest[offset..].find(word).expect("word comes from rest");
        offset = start + word.len();
        if matches!(word, "--board" | "--author" | "--keyword") {
            marks.push((start, offset, word));
        }
    }
    if marks.len() != 2 || !rest[..marks[0].0].trim().is_empty() {
        return None;
    }
    let mut target = None;
    let mut keyword = None;
    for (i, &(_, end, flag)) in marks.iter().enumerate() {
        let next = marks.get(i + 1).map_or(rest.len(), |m| m.0);
        let text = rest[end..next].trim();
        match flag {
            "--keyword" if keyword.is_none() && !text.is_empty() => keyword = Some(super::clean_text(text)),
            "--board" | "--author" if target.is_none() => {
                let [name] = super::exact(&text.split_whitespace().collect::<Vec<_>>())?;
                target = Some(if flag == "--board" {
                    SubscriptionTarget::Board(name.to_owned())
                } else {
                    SubscriptionTarget::Author(name.to_owned())
                });
            }
            _ => return None,
        }
    }
    Some(Subscribe { target: target?, keyword: keyword.filter(|k| !k.is_empty())? })
}

pub(super) fn parse_unsubscribe(a: &Args<'_>) -> Option<Unsubscribe> {
    let [flag, name] = a.exact()?;
    let target = match flag {
        "--board" => SubscriptionTarget::Board(name.to_owned()),
        "--author" => SubscriptionTarget::Author(name.to_owned()),
        _ => return None,
    };
    Some(Unsubscribe { target })
}
