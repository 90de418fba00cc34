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
//! `list-chatroom` answer `Please login first.`.

/// The largest request datagram the server reads.
pub const MAX_REQUEST: usize = 512;

/// One parsed request datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpRequest<'a> {
    /// The client's tag; `None` for a bare datagram.
    pub id: Option<&'a str>,
    pub token: Option<&'a str>,
    pub line: &'a str,
}

impl<'a> UdpRequest<'a> {
    /// Parses a datagram; `None` if it is tagged but malformed.
    pub fn parse(datagram: &'a str) -> Option<UdpRequest<'a>> {
        let datagram = datagram.trim_end_matches(['\r', '\n']);
        let Some(tagged) = datagram.strip_prefix('@') else {
            return Some(UdpRequest { id: None, token: None, line: datagram });
        };
        let mut parts = tagged.splitn(3, ' ');
        let id = parts.next().filter(|id| !id.is_empty() && id.len() <= 32)?;
        let token = parts.next()?;
        let line = parts.next().unwrap_or("");
        Some(UdpRequest { id: Some(id), token: (token != "-").then_some(token), line })
    }

    /// Encodes a tagged request.
    pub fn encode(id: &str, token: Option<&str>, line: &str) -> String {
        format!("@{id} {} {line}", token.unwrap_or("-"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_and_bare_requests() {
        let line = UdpRequest::encode("a1", Some("tok"), "whoami");
        assert_eq!(
            UdpRequest::parse(&line),
            Some(UdpRequest { id: Some("a1"), token: Some("tok"), line: "whoami" })
        );
        assert_eq!(
            UdpRequest::parse("register a b c\n"),
            Some(UdpRequest { id: None, token: None, line: "register a b c" })
        );
        assert_eq!(UdpRequest::parse("@ x y"), None);
        assert_eq!(parse_reply(&encode_reply(Some("7"), "Bob")), Some(("7", "Bob")));
    }
}
