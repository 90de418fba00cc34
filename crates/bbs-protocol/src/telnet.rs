//! Removes telnet protocol bytes (RFC 854) from an incoming byte stream.
//!
//! A telnet client may send option negotiation (`IAC DO x`, `IAC WILL x`),
//! subnegotiation (`IAC SB … IAC SE`) and `CR NUL` at any point, even in the
//! middle of a line. The filter keeps state across reads, so a sequence split
//! over two TCP segments is still removed. Valid UTF-8 never contains the
//! byte 0xFF, so the filter is harmless for the `bbs` client's text too.

use bytes::{BufMut, BytesMut};

const IAC: u8 = 255;
const SB: u8 = 250;
const SE: u8 = 240;
const WILL: u8 = 251;
const DONT: u8 = 254;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Data,
    /// After IAC.
    Command,
    /// After IAC WILL/WONT/DO/DONT: one option byte follows.
    Option,
    /// Inside IAC SB … until IAC SE.
    Sub,
    /// IAC seen inside a subnegotiation.
    SubIac,
    /// After CR: a following NUL is dropped.
    Cr,
}

/// Streaming filter state; feed it every byte read from the socket.
#[derive(Debug, Default, Clone)]
pub struct TelnetFilter {
    state: State,
}

impl TelnetFilter {
    /// Appends the data bytes of `input` to `out`, dropping telnet commands.
    pub fn push(&mut self, input: &[u8], out: &mut BytesMut) {
        // Fast path: ordinary text holds no IAC and no NUL.
        if self.state == State::Data && !input.iter().any(|&b| b == IAC || b == 0) {
            out.extend_from_slice(input);
            if input.last() == Some(&b'\r') {
                self.state = State::Cr;
            }
            return;
        }
        for &b in input {
            self.state = match (self.state, b) {
                (State::Data | State::Cr, IAC) => State::Command,
                (State::Cr, 0) => State::Data,
                (State::Data | State::Cr, b) => {
                    out.put_u8(b);
                    if b == b'\r' {
                        State::Cr
                    } else {
                        State::Data
                    }
                }
                (State::Command, IAC) => {
                    // Escaped 0xFF: a data byte (never valid UTF-8; the line
                    // decoder reports it).
                    out.put_u8(IAC);
                    State::Data
                }
                (State::Command, SB) => State::Sub,
                (State::Command, WILL..=DONT) => State::Option,
                (State::Command, _) | (State::Option, _) => State::Data,
                (State::Sub, IAC) => State::SubIac,
                (State::Sub, _) => State::Sub,
                (State::SubIac, SE) => State::Data,
                (State::SubIac, _) => State::Sub,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter_in_pieces(input: &[u8], piece: usize) -> Vec<u8> {
        let mut f = TelnetFilter::default();
        let mut out = BytesMut::new();
        for chunk in input.chunks(piece) {
            f.push(chunk, &mut out);
        }
        out.to_vec()
    }

    #[test]
    fn negotiation_and_subnegotiation_are_removed_even_when_split() {
        let input = b"\xff\xfd\x01\xff\xfb\x1fwho\xff\xfa\x18\x01xterm\xff\xf0ami\r\x00\r\n";
        for piece in 1..input.len() {
            assert_eq!(filter_in_pieces(input, piece), b"whoami\r\r\n", "piece {piece}");
        }
    }
}
