//! Chatrooms (spec §7): the join tickets `bbsd` issues, and the wire format
//! between a chatroom host (inside its owner's `bbs` client) and members.
//!
//! # Why tickets
//!
//! The room runs on the owner's machine, reachable by anyone who can reach
//! its port. The host must let in only users that `bbsd` has logged in, under
//! their own names. At `create-chatroom` / `restart-chatroom` the server gives
//! the owner's client a fresh random [`RoomKey`] over its authenticated
//! connection. At `join-chatroom` the server gives the joiner a [`Ticket`]:
//! who, which room, until when, a random nonce, and an HMAC-SHA256 over those
//! fields with the room key. Only the server and the host know the key, so
//! only the server can make a ticket; the host checks the MAC, the room, the
//! expiry, and that the nonce was not used before ([`ReplayGuard`]).
//!
//! # Host ↔ member framing
//!
//! One JSON object per line (`\n`-terminated); JSON escapes every newline
//! inside text, so a frame ends at the first `\n` whatever is said. The
//! member's first frame is [`MemberFrame::Hello`]; the host answers
//! [`HostFrame::Welcome`] or [`HostFrame::Refused`].

use std::collections::HashMap;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// How long a ticket is valid after the server issues it. The joiner uses it
/// at once; the margin covers a slow network.
pub const TICKET_LIFETIME_SECS: i64 = 60;

/// Clock difference tolerated between the server and the host's machine.
pub const CLOCK_SKEW_SECS: i64 = 120;

/// The secret shared by `bbsd` and one running chatroom host.
#[derive(Clone, PartialEq, Eq)]
pub struct RoomKey(pub [u8; 32]);

impl RoomKey {
    /// A fresh key from the operating system's random source.
    pub fn random() -> RoomKey {
        RoomKey(rand_bytes())
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(text: &str) -> Option<RoomKey> {
        let bytes = hex::decode(text).ok()?;
        Some(RoomKey(bytes.try_into().ok()?))
    }
}

impl std::fmt::Debug for RoomKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never in logs.
        f.write_str("RoomKey(..)")
    }
}

fn rand_bytes<const N: usize>() -> [u8; N] {
    use rand::RngCore;
    let mut bytes = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// Permission for `joiner` to enter `room`, issued by `bbsd`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub joiner: String,
    /// The chatroom's name (its owner's username).
    pub room: String,
    /// Unix seconds after which the host refuses the ticket.
    pub expires: i64,
    /// 128 random bits, hex; makes every ticket single-use.
    pub nonce: String,
    /// HMAC-SHA256 of the fields above with the room key, hex.
    pub mac: String,
}

/// Why a host refuses a ticket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    #[error("the ticket was not issued by the BBS server for this chatroom")]
    BadMac,
    #[error("the ticket is for another chatroom")]
    WrongRoom,
    #[error("the ticket has expired")]
    Expired,
    #[error("the ticket was already used")]
    Replayed,
}

impl Ticket {
    /// Issues a ticket valid for [`TICKET_LIFETIME_SECS`] from `now`.
    pub fn issue(key: &RoomKey, joiner: &str, room: &str, now: i64) -> Ticket {
        let nonce = hex::encode(rand_bytes::<16>());
        let expires = now + TICKET_LIFETIME_SECS;
        let mac = hex::encode(mac_of(key, joiner, room, expires, &nonce).finalize().into_bytes());
        Ticket { joiner: joiner.to_owned(), room: room.to_owned(), expires, nonce, mac }
    }

    /// Checks everything but replay: the MAC (in constant time), the room,
    /// and the expiry with [`CLOCK_SKEW_SECS`] of tolerance either way (a
    /// ticket claiming to expire far in the future is refused too).
    pub fn verify(&self, key: &RoomKey, room: &str, now: i64) -> Result<(), TicketError> {
        let mac = hex::decode(&self.mac).map_err(|_| TicketError::BadMac)?;
        mac_of(key, &self.joiner, &self.room, self.expires, &self.nonce)
            .verify_slice(&mac)
            .map_err(|_| TicketError::BadMac)?;
        if self.room != room {
            return Err(TicketError::WrongRoom);
        }
        if now > self.expires + CLOCK_SKEW_SECS || self.expires > now + TICKET_LIFETIME_SECS + CLOCK_SKEW_SECS {
            return Err(TicketError::Expired);
        }
        Ok(())
    }
}

/// The MAC input: every field length-prefixed, so no two different field
/// sets encode alike (`"ab"+"c"` vs `"a"+"bc"`).
fn mac_of(key: &RoomKey, joiner: &str, room: &str, expires: i64, nonce: &str) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key.0).expect("HMAC takes any key length");
    mac.update(b"bbs-chatroom-ticket-v1");
    for field in [joiner.as_bytes(), room.as_bytes(), expires.to_string().as_bytes(), nonce.as_bytes()] {
        mac.update(&(field.len() as u64).to_be_bytes());
        mac.update(field);
    }
    mac
}

/// Nonces of accepted tickets, kept until the ticket could no longer pass
/// the expiry check, so a ticket seen on the wire cannot be used again.
#[derive(Debug, Default)]
pub struct ReplayGuard {
    used: HashMap<String, i64>,
}

impl ReplayGuard {
    /// Verifies `ticket` and, if valid, marks its nonce used.
    pub fn admit(&mut self, ticket: &Ticket, key: &RoomKey, room: &str, now: i64) -> Result<(), TicketError> {
        ticket.verify(key, room, now)?;
        self.used.retain(|_, forget_at| *forget_at >= now);
        if self.used.contains_key(&ticket.nonce) {
            return Err(TicketError::Replayed);
        }
        self.used.insert(ticket.nonce.clone(), ticket.expires + CLOCK_SKEW_SECS);
        Ok(())
    }
}

/// A chat record: who said what, when (`HH:MM` in the owner's local time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub sender: String,
    pub time: String,
    pub text: String,
}

impl Record {
    /// `<sender>[HH:MM] : <text>` (spec §7).
    pub fn display(&self) -> String {
        format!("{}[{}] : {}", self.sender, self.time, self.text)
    }
}

/// `sys[HH:MM] : <text>` (spec §7).
pub fn system_line(time: &str, text: &str) -> String {
    format!("sys[{time}] : {text}")
}

/// What a member sends to the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum MemberFrame {
    /// First frame: the ticket from `bbsd`.
    Hello { ticket: Ticket },
    /// A line typed in the room.
    Say { text: String },
    /// `leave-chatroom`.
    Leave,
}

/// What the host sends to a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum HostFrame {
    /// Admitted; the latest records, oldest first.
    Welcome { records: Vec<Record> },
    /// Not admitted; the host closes the connection after this.
    Refused { reason: String },
    /// Someone else said something.
    Message { record: Record },
    /// A `sys[HH:MM] : <text>` line (joins, leaves, limits).
    System { time: String, text: String },
    /// The owner closed the room; the host closes the connection after this.
    Closed { time: String },
}

/// Encodes a frame as one JSON line ending in `\n`.
pub fn encode<T: Serialize>(frame: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec(frame).expect("a chat frame always serialises");
    out.push(b'\n');
    out
}

/// Decodes one line (without its `\n`).
pub fn decode<'a, T: Deserialize<'a>>(line: &'a [u8]) -> Result<T, serde_json::Error> {
    serde_json::from_slice(line)
}

/// Makes text safe to print on a terminal: control characters (ESC, CR,
/// BEL, backspace, C1 controls...) would let a member move the cursor,
/// recolour or clear other people's screens, or fake a `sys` line; each is
/// shown as a visible `^X` / `\u{..}` form instead of being acted on.
pub fn neutralise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\t' => out.push(' '),
            c if (c as u32) < 0x20 => {
                out.push('^');
                out.push(char::from(b'@' + c as u8));
            }
            '\u{7f}' => out.push_str("^?"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            // Bidirectional overrides can make a line read as something else.
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    #[test]
    fn an_issued_ticket_verifies() {
        let key = RoomKey::random();
        let ticket = Ticket::issue(&key, "Bob", "Brad", NOW);
        assert_eq!(ticket.verify(&key, "Brad", NOW), Ok(()));
        assert_eq!(ticket.verify(&key, "Brad", NOW + TICKET_LIFETIME_SECS + CLOCK_SKEW_SECS), Ok(()));
    }

    #[test]
    fn changing_any_field_breaks_the_mac() {
        let key = RoomKey::random();
        let ticket = Ticket::issue(&key, "Bob", "Brad", NOW);
        let mut other_name = ticket.clone();
        other_name.joiner = "Eve".into();
        let mut later = ticket.clone();
        later.expires += 3600;
        let mut nonce = ticket.clone();
        nonce.nonce = "00".repeat(16);
        let mut room = ticket.clone();
        room.room = "Eve".into();
        for forged in [other_name, later, nonce, room] {
            assert_eq!(forged.verify(&key, "Brad", NOW), Err(TicketError::BadMac), "{forged:?}");
        }
        let mut garbage = ticket.clone();
        garbage.mac = "not hex".into();
        assert_eq!(garbage.verify(&key, "Brad", NOW), Err(TicketError::BadMac));
        assert_eq!(ticket.verify(&RoomKey::random(), "Brad", NOW), Err(TicketError::BadMac));
    }

    #[test]
    fn field_boundaries_cannot_be_shifted() {
        let key = RoomKey::random();
        let ticket = Ticket::issue(&key, "ab", "c", NOW);
        let shifted = Ticket { joiner: "a".into(), room: "bc".into(), ..ticket };
        assert_eq!(shifted.verify(&key, "bc", NOW), Err(TicketError::BadMac));
    }

    #[test]
    fn wrong_room_and_expiry_are_refused() {
        let key = RoomKey::random();
        let ticket = Ticket::issue(&key, "Bob", "Brad", NOW);
        assert_eq!(ticket.verify(&key, "Alice", NOW), Err(TicketError::WrongRoom));
        let late = NOW + TICKET_LIFETIME_SECS + CLOCK_SKEW_SECS + 1;
        assert_eq!(ticket.verify(&key, "Brad", late), Err(TicketError::Expired));
        // Issued by a server whose clock runs far ahead: too far in the future.
        let early = NOW - CLOCK_SKEW_SECS - 1;
        assert_eq!(ticket.verify(&key, "Brad", early), Err(TicketError::Expired));
    }

    #[test]
    fn a_ticket_is_single_use() {
        let key = RoomKey::random();
        let mut guard = ReplayGuard::default();
        let ticket = Ticket::issue(&key, "Bob", "Brad", NOW);
        assert_eq!(guard.admit(&ticket, &key, "Brad", NOW), Ok(()));
        assert_eq!(guard.admit(&ticket, &key, "Brad", NOW + 1), Err(TicketError::Replayed));
        let fresh = Ticket::issue(&key, "Bob", "Brad", NOW);
        assert_eq!(guard.admit(&fresh, &key, "Brad", NOW + 1), Ok(()));
        // Used nonces are forgotten only once their ticket has expired anyway.
        let much_later = NOW + TICKET_LIFETIME_SECS + CLOCK_SKEW_SECS + 10;
        assert_eq!(guard.admit(&ticket, &key, "Brad", much_later), Err(TicketError::Expired));
        assert!(guard.used.len() <= 2);
    }

    #[test]
    fn room_keys_are_random_and_round_trip() {
        let (a, b) = (RoomKey::random(), RoomKey::random());
        assert_ne!(a, b);
        assert_eq!(RoomKey::from_hex(&a.to_hex()), Some(a));
        assert_eq!(RoomKey::from_hex("abcd"), None);
    }

    #[test]
    fn frames_are_one_line_whatever_the_text() {
        let frame = MemberFrame::Say { text: "a\nb\r\n{\"kind\":\"leave\"}".into() };
        let line = encode(&frame);
        assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
        assert_eq!(decode::<MemberFrame>(&line[..line.len() - 1]).unwrap(), frame);
        let record = Record { sender: "Bob".into(), time: "09:05".into(), text: "hi".into() };
        assert_eq!(record.display(), "Bob[09:05] : hi");
        assert_eq!(system_line("09:05", "Bob join us."), "sys[09:05] : Bob join us.");
    }

    #[test]
    fn escape_sequences_are_shown_not_obeyed() {
        assert_eq!(neutralise("hi\x1b[2J\rthere\x07"), "hi^[[2J^Mthere^G");
        assert_eq!(neutralise("a\u{9b}b\u{202e}c\x7f"), "a\\u{9b}b\\u{202e}c^?");
        assert_eq!(neutralise("你好 ok"), "你好 ok");
    }
}
