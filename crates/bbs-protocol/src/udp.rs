//! UDP datagrams (`register`, `whoami`, `list-chatroom`).
//!
//! The `bbs` client sends `@<id> <token> <command line>`, where `<id>` is a
//! short random tag and `<token>` is the login token or `-`; the server
//! answers `@<id> <answer text>`. The tag lets the client retry a lost
//! request and match a late reply, and lets the server answer a retry from
//! its memory instead of running the command twice.
//!
//! A person with `nc -u` may send a bare command line instead; it is answered
//! with the bare text. Bare datagrams carry no token, so `whoami` and
//! `list-chatroom` answer `Please login first.`. An empty (or blank)
//! datagram gets no answer at all.
//!
//! # Amplification
//!
//! A UDP source address can be forged, so the server follows QUIC's
//! anti-amplification limit (RFC 9000 §8.1): to an address that has not
//! proven it receives our answers, it sends at most three times the bytes
//! it received from that address, counted over a short window rather than
//! datagram by datagram. A datagram with a valid login token proves its
//! address and is answered in full. Without one, a command whose answer
//! might not fit is not run, and an answer that does not fit is replaced by
//! a shorter truthful one (`Usage: register`, `Server busy.`,
//! `Request too short.`), or by nothing if even that does not fit.
//!
//! So requests need no padding. The `bbs` client's tagged requests always
//! earn their whole answer: the shortest, `@<8 hex digits> - register a b
//! c`, earns 78 bytes, exactly its longest possible answer (`Server busy:
//! …` with the tag). A bare `nc -u` line earns three times its own length,
//! enough for `Register successfully.`, `Username is already used.` and
//! `Please login first.`; a usage answer comes in full when the line is
//! long enough, else as `Usage: <command>`.
//!
//! # Long answers
//!
//! A reply datagram is at most [`MAX_REPLY`] bytes, so it crosses any
//! network path without IP fragmentation. A longer answer (`list-chatroom`
//! with thousands of rooms) is cut into numbered parts,
//! `@<id>/<part>/<total> <piece>` with `part` counted from 1; the pieces
//! joined in order give the text. The server sends at most [`PART_WINDOW`]
//! parts per request: the first request gets parts 1.., and the client asks
//! for the next or missing ones by repeating the request with the id
//! `<id>/<from>-<to>` (inclusive). Answers are remembered per id for a
//! while, so every part comes from the same answer.

/// The largest request datagram the server reads.
pub const MAX_REQUEST: usize = 512;

/// The largest reply datagram the server sends.
pub const MAX_REPLY: usize = 1200;

/// How many parts of a long answer one request brings back.
pub const PART_WINDOW: u32 = 16;

/// One parsed request datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpRequest<'a> {
    /// The client's tag; `None` for a bare datagram.
    pub id: Option<&'a str>,
    /// Which parts of a long answer are wanted (inclusive, from 1); `None`
    /// for the first request.
    pub parts: Option<(u32, u32)>,
    pub token: Option<&'a str>,
    pub line: &'a str,
}

impl<'a> UdpRequest<'a> {
    /// Parses a datagram; `None` if it is tagged but malformed.
    pub fn parse(datagram: &'a str) -> Option<UdpRequest<'a>> {
        let datagram = datagram.trim_end_matches(['\r', '\n']);
        let Some(tagged) = datagram.strip_prefix('@') else {
            return Some(UdpRequest { id: None, parts: None, token: None, line: datagram });
        };
        let mut fields = tagged.splitn(3, ' ');
        let tag = fields.next()?;
        let (id, parts) = match tag.split_once('/') {
            None => (tag, None),
            Some((id, range)) => {
                let (from, to) = range.split_once('-')?;
                let (from, to): (u32, u32) = (from.parse().ok()?, to.parse().ok()?);
                if from == 0 || to < from {
                    return None;
                }
                (id, Some((from, to)))
            }
        };
        if id.is_empty() || id.len() > 32 || id.contains('/') {
            return None;
        }
        let token = fields.next()?;
        let line = fields.next().unwrap_or("");
        Some(UdpRequest { id: Some(id), parts, token: (token != "-").then_some(token), line })
    }

    /// Encodes a tagged request.
    pub fn encode(id: &str, token: Option<&str>, line: &str) -> String {
        format!("@{id} {} {line}", token.unwrap_or("-"))
    }

    /// Encodes a request for parts `from..=to` of a long answer.
    pub fn encode_parts(id: &str, (from, to): (u32, u32), token: Option<&str>, line: &str) -> String {
        format!("@{id}/{from}-{to} {} {line}", token.unwrap_or("-"))
    }
}

/// Encodes the reply to a request with the given tag.
pub fn encode_reply(id: Option<&str>, text: &str) -> String {
    match id {
        Some(id) => format!("@{id} {text}"),
        None => text.to_owned(),
    }
}

/// Splits a tagged reply into its tag and text.
pub fn parse_reply(datagram: &str) -> Option<(&str, &str)> {
    let rest = datagram.strip_prefix('@')?;
    rest.split_once(' ').or(Some((rest, "")))
}

/// One reply datagram: a whole answer (`part == total == 1`) or one piece.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyPart<'a> {
    pub id: &'a str,
    pub part: u32,
    pub total: u32,
    pub text: &'a str,
}

/// Parses a tagged reply datagram, whole or one part.
pub fn parse_reply_part(datagram: &str) -> Option<ReplyPart<'_>> {
    let (tag, text) = parse_reply(datagram)?;
    let Some((id, numbers)) = tag.split_once('/') else {
        return Some(ReplyPart { id: tag, part: 1, total: 1, text });
    };
    let (part, total) = numbers.split_once('/')?;
    let (part, total): (u32, u32) = (part.parse().ok()?, total.parse().ok()?);
    (part >= 1 && part <= total).then_some(ReplyPart { id, part, total, text })
}

/// The reply datagrams for `text`: one if it fits in `max` bytes, else
/// numbered parts, each at most `max` bytes (pieces are cut at character
/// boundaries). `max` must leave room for the tag and some text.
pub fn split_reply(id: &str, text: &str, max: usize) -> Vec<String> {
    let whole = encode_reply(Some(id), text);
    if whole.len() <= max {
        return vec![whole];
    }
    // The header's length depends on the number of parts; try widths of
    // the part numbers until the count fits the width assumed.
    let mut digits = 1;
    loop {
        let header = 1 + id.len() + 1 + digits + 1 + digits + 1;
        let budget = max.saturating_sub(header).max(4);
        let pieces = cut(text, budget);
        if pieces.len().to_string().len() <= digits {
            let total = pieces.len();
            return pieces.iter().enumerate().map(|(i, piece)| format!("@{id}/{}/{total} {piece}", i + 1)).collect();
        }
        digits += 1;
    }
}

/// Cuts `text` into pieces of at most `budget` bytes at char boundaries.
fn cut(text: &str, budget: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = budget.min(rest.len());
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        pieces.push(&rest[..end]);
        rest = &rest[end..];
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_and_bare_requests() {
        let line = UdpRequest::encode("a1", Some("tok"), "whoami");
        assert_eq!(
            UdpRequest::parse(&line),
            Some(UdpRequest { id: Some("a1"), parts: None, token: Some("tok"), line: "whoami" })
        );
        assert_eq!(
            UdpRequest::parse("register a b c\n"),
            Some(UdpRequest { id: None, parts: None, token: None, line: "register a b c" })
        );
        assert_eq!(UdpRequest::parse("@ x y"), None);
        assert_eq!(parse_reply(&encode_reply(Some("7"), "Bob")), Some(("7", "Bob")));
        assert_eq!(
            UdpRequest::parse(&UdpRequest::encode_parts("a1", (17, 32), None, "list-chatroom")),
            Some(UdpRequest { id: Some("a1"), parts: Some((17, 32)), token: None, line: "list-chatroom" })
        );
        assert_eq!(UdpRequest::parse("@a1/0-3 - x"), None);
        assert_eq!(UdpRequest::parse("@a1/5-3 - x"), None);
    }

    #[test]
    fn long_answers_split_into_parts_that_join_back() {
        let text: String = (0..2000).map(|i| format!("room{i}  open\n")).collect::<String>() + "日本語";
        let parts = split_reply("abcd1234", &text, MAX_REPLY);
        assert!(parts.len() > 10);
        let mut joined = String::new();
        for (i, datagram) in parts.iter().enumerate() {
            assert!(datagram.len() <= MAX_REPLY, "part {i} is {} bytes", datagram.len());
            let part = parse_reply_part(datagram).unwrap();
            assert_eq!((part.id, part.part, part.total as usize), ("abcd1234", i as u32 + 1, parts.len()));
            joined.push_str(part.text);
        }
        assert_eq!(joined, text);
        assert_eq!(split_reply("a", "short", MAX_REPLY), vec!["@a short".to_owned()]);
        let whole = parse_reply_part("@a short").unwrap();
        assert_eq!((whole.part, whole.total, whole.text), (1, 1, "short"));
    }
}
