//! Telnet option negotiation for the full-screen door (RFC 854, 857, 858,
//! 856, 1073, 1091), as a state machine over bytes that survives any split
//! of its input.
//!
//! The server offers to echo and to suppress go-ahead (so the client sends
//! each key at once and does not echo it), both sides go binary (UTF-8
//! passes untouched), and the server asks for the window size (NAWS) and
//! the terminal type. Each side answers a request only when it changes
//! the option's state, which is what keeps two peers from answering each
//! other forever (RFC 854's loop rule; the Q-method of RFC 1143 in small).
//!
//! Unlike the line door's `TelnetFilter` (which only drops these bytes),
//! this one answers them and reports what they say.

pub const IAC: u8 = 255;
pub const DONT: u8 = 254;
pub const DO: u8 = 253;
pub const WONT: u8 = 252;
pub const WILL: u8 = 251;
pub const SB: u8 = 250;
pub const SE: u8 = 240;

pub const BINARY: u8 = 0;
pub const ECHO: u8 = 1;
pub const SGA: u8 = 3;
pub const TTYPE: u8 = 24;
pub const NAWS: u8 = 31;

/// TTYPE subnegotiation: IS and SEND.
const TTYPE_IS: u8 = 0;
const TTYPE_SEND: u8 = 1;

/// Longest subnegotiation kept (a terminal type name is short); longer
/// ones are read to their end and dropped.
const MAX_SUB: usize = 64;

/// What the peer told us, besides its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TelnetEvent {
    /// NAWS: the window is now `columns` × `rows`.
    WindowSize { columns: u16, rows: u16 },
    /// TTYPE: the terminal's name.
    TerminalType(String),
}

/// State of one option on one side.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Side {
    #[default]
    Off,
    /// We asked to turn it on and wait for the answer.
    Asked,
    On,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Data,
    Iac,
    /// After IAC and a verb (WILL/WONT/DO/DONT).
    Verb(u8),
    Sub,
    SubIac,
}

/// One connection's negotiation.
#[derive(Debug, Clone)]
pub struct Negotiator {
    state: State,
    sub: Vec<u8>,
    /// Subnegotiation too long: dropped.
    sub_overflow: bool,
    /// Options we do (WILL), by option byte.
    ours: [Side; 256],
    /// Options the peer does (DO), by option byte.
    theirs: [Side; 256],
}

impl Negotiator {
    /// A negotiator and what the server sends first.
    pub fn start() -> (Negotiator, Vec<u8>) {
        let mut negotiator = Negotiator {
            state: State::Data,
            sub: Vec::new(),
            sub_overflow: false,
            ours: [Side::Off; 256],
            theirs: [Side::Off; 256],
        };
        let mut out = Vec::new();
        for option in [ECHO, SGA, BINARY] {
            negotiator.ours[option as usize] = Side::Asked;
            out.extend_from_slice(&[IAC, WILL, option]);
        }
        for option in [SGA, BINARY, NAWS, TTYPE] {
            negotiator.theirs[option as usize] = Side::Asked;
            out.extend_from_slice(&[IAC, DO, option]);
        }
        (negotiator, out)
    }

    /// Whether the peer agreed to report its window size.
    pub fn naws(&self) -> bool {
        self.theirs[NAWS as usize] == Side::On
    }

    /// Reads `input`: data bytes go to `data`, what the peer said to
    /// `events`, and our answers to `reply` (send them before anything
    /// else written after this call).
    pub fn receive(&mut self, input: &[u8], data: &mut Vec<u8>, events: &mut Vec<TelnetEvent>, reply: &mut Vec<u8>) {
        for &b in input {
            self.state = match (self.state, b) {
                (State::Data, IAC) => State::Iac,
                (State::Data, b) => {
                    data.push(b);
                    State::Data
                }
                (State::Iac, IAC) => {
                    data.push(IAC);
                    State::Data
                }
                (State::Iac, SB) => {
                    self.sub.clear();
                    self.sub_overflow = false;
                    State::Sub
                }
                (State::Iac, WILL..=DONT) => State::Verb(b),
                // NOP, GA, AYT, … carry nothing for us.
                (State::Iac, _) => State::Data,
                (State::Verb(verb), option) => {
                    self.verb(verb, option, reply);
                    State::Data
                }
                (State::Sub, IAC) => State::SubIac,
                (State::Sub, b) => {
                    self.sub_byte(b);
                    State::Sub
                }
                (State::SubIac, SE) => {
                    if !self.sub_overflow {
                        self.subnegotiation(events);
                    }
                    State::Data
                }
                (State::SubIac, IAC) => {
                    self.sub_byte(IAC);
                    State::Sub
                }
                // IAC and anything else inside SB: malformed; keep reading.
                (State::SubIac, _) => State::Sub,
            };
        }
    }

    fn sub_byte(&mut self, b: u8) {
        if self.sub.len() < MAX_SUB {
            self.sub.push(b);
        } else {
            self.sub_overflow = true;
        }
    }

    fn verb(&mut self, verb: u8, option: u8, reply: &mut Vec<u8>) {
        let index = option as usize;
        match verb {
            WILL => {
                let wanted = matches!(option, SGA | BINARY | NAWS | TTYPE);
                match (self.theirs[index], wanted) {
                    (Side::On, _) => {}
                    (Side::Asked, _) => self.theirs[index] = Side::On,
                    (Side::Off, true) => {
                        self.theirs[index] = Side::On;
                        reply.extend_from_slice(&[IAC, DO, option]);
                    }
                    (Side::Off, false) => reply.extend_from_slice(&[IAC, DONT, option]),
                }
                if option == TTYPE && self.theirs[index] == Side::On {
                    reply.extend_from_slice(&[IAC, SB, TTYPE, TTYPE_SEND, IAC, SE]);
                }
            }
            WONT => {
                if self.theirs[index] == Side::On {
                    reply.extend_from_slice(&[IAC, DONT, option]);
                }
                self.theirs[index] = Side::Off;
            }
            DO => {
                let offered = matches!(option, ECHO | SGA | BINARY);
                match (self.ours[index], offered) {
                    (Side::On, _) => {}
                    (Side::Asked, _) => self.ours[index] = Side::On,
                    (Side::Off, true) => {
                        self.ours[index] = Side::On;
                        reply.extend_from_slice(&[IAC, WILL, option]);
                    }
                    (Side::Off, false) => reply.extend_from_slice(&[IAC, WONT, option]),
                }
            }
            DONT => {
                if self.ours[index] == Side::On {
                    reply.extend_from_slice(&[IAC, WONT, option]);
                }
                self.ours[index] = Side::Off;
            }
            _ => {}
        }
    }

    fn subnegotiation(&mut self, events: &mut Vec<TelnetEvent>) {
        match self.sub.as_slice() {
            [NAWS, w1, w2, h1, h2] => events.push(TelnetEvent::WindowSize {
                columns: u16::from_be_bytes([*w1, *w2]),
                rows: u16::from_be_bytes([*h1, *h2]),
            }),
            [TTYPE, TTYPE_IS, name @ ..] => {
                events.push(TelnetEvent::TerminalType(String::from_utf8_lossy(name).into_owned()))
            }
            _ => {}
        }
    }
}

/// `bytes` as telnet data: every 0xFF doubled (UTF-8 never holds one, so
/// this is a copy in practice).
pub fn escape_data(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        out.push(b);
        if b == IAC {
            out.push(IAC);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(input: &[u8], splits: &[usize]) -> (Vec<u8>, Vec<TelnetEvent>, Vec<u8>) {
        let (mut n, _) = Negotiator::start();
        let (mut data, mut events, mut reply) = (Vec::new(), Vec::new(), Vec::new());
        let mut start = 0;
        for &split in splits {
            n.receive(&input[start..split], &mut data, &mut events, &mut reply);
            start = split;
        }
        n.receive(&input[start..], &mut data, &mut events, &mut reply);
        (data, events, reply)
    }

    /// What a typical client (PuTTY, netkit telnet) answers to our offer,
    /// with data, a NAWS holding an escaped 255, and a TTYPE.
    const CLIENT: &[u8] = b"\xff\xfd\x01\xff\xfd\x03\xff\xfb\x1f\xff\xfa\x1f\x00\xff\xff\x00\x18\xff\xf0ab\xff\xff\
\xff\xfb\x18\xff\xfa\x18\x00XTERM\xff\xf0\xff\xfd\x05c\r\x00";

    #[test]
    fn every_split_gives_the_same_result() {
        let whole = run(CLIENT, &[]);
        assert_eq!(whole.0, b"ab\xffc\r\x00");
        assert_eq!(
            whole.1,
            vec![TelnetEvent::WindowSize { columns: 255, rows: 24 }, TelnetEvent::TerminalType("XTERM".into())]
        );
        // Only TTYPE SEND (after WILL TTYPE) and WONT for the unknown DO 5.
        assert_eq!(whole.2, b"\xff\xfa\x18\x01\xff\xf0\xff\xfc\x05");
        for a in 0..=CLIENT.len() {
            for b in a..=CLIENT.len() {
                assert_eq!(run(CLIENT, &[a, b]), whole, "splits {a} {b}");
            }
        }
    }

    #[test]
    fn answering_our_own_answers_never_loops() {
        // Two negotiators wired to each other settle in a few rounds.
        let (mut server, mut to_client) = Negotiator::start();
        let (mut client, mut to_server) = Negotiator::start();
        for _ in 0..10 {
            let (mut d, mut e, mut r1, mut r2) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            client.receive(&to_client, &mut d, &mut e, &mut r1);
            server.receive(&to_server, &mut d, &mut e, &mut r2);
            to_server = r1;
            to_client = r2;
        }
        assert!(to_server.is_empty() && to_client.is_empty(), "{to_server:?} {to_client:?}");
    }

    proptest! {
        #[test]
        fn fuzzed_input_at_any_split_is_the_same_and_never_panics(
            bytes in proptest::collection::vec(prop_oneof![Just(255u8), Just(250u8), Just(240u8), Just(31u8), any::<u8>()], 0..300),
            cut in 0usize..300,
        ) {
            let cut = cut.min(bytes.len());
            prop_assert_eq!(run(&bytes, &[]), run(&bytes, &[cut]));
        }
    }
}
