//! Property tests of what the server does with untrusted bytes before any
//! command runs: the telnet filter, the line decoder and the command parser
//! never panic, and the way a byte stream is cut into reads (one byte at a
//! time, everything at once, anything between) never changes the commands
//! it decodes to.

use bbs_protocol::line::{LineDecoder, LineError};
use bbs_protocol::telnet::TelnetFilter;
use bbs_protocol::udp::{parse_reply_part, split_reply, UdpRequest};
use bbs_protocol::{Command, ParseError, COMMANDS};
use bytes::BytesMut;
use proptest::prelude::*;

/// What a connection makes of a stream delivered in the given pieces:
/// every complete line, parsed.
fn decode(pieces: &[&[u8]], max: usize) -> Vec<Result<Result<Command, ParseError>, LineError>> {
    let mut filter = TelnetFilter::default();
    let mut decoder = LineDecoder::new(max);
    let mut lines = BytesMut::new();
    let mut out = Vec::new();
    for piece in pieces {
        filter.push(piece, &mut lines);
        while let Some(line) = decoder.decode(&mut lines) {
            out.push(line.map(|l| Command::parse(&l)));
        }
    }
    out
}

/// Bytes that exercise every path: text, line ends, telnet IAC sequences,
/// NUL after CR, invalid UTF-8 and multi-byte characters.
fn stream_byte() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::sample::select(b"abc -\t".to_vec()).prop_map(|b| vec![b]),
        2 => Just(b"\n".to_vec()),
        2 => Just(b"\r\n".to_vec()),
        1 => Just(b"\r".to_vec()),
        1 => Just(b"\r\0".to_vec()),
        1 => Just(vec![0xff, 0xfd, 0x01]),
        1 => Just(vec![0xff, 0xfa, 0x18, 0x01, b'x', 0xff, 0xf0]),
        1 => Just(vec![0xff, 0xff]),
        1 => Just(vec![0xff]),
        1 => Just(vec![0xc3]),
        1 => Just("é日".as_bytes().to_vec()),
        2 => proptest::sample::select(COMMANDS.iter().map(|c| c.name).collect::<Vec<_>>())
            .prop_map(|n| n.as_bytes().to_vec()),
        1 => Just(b" --title ".to_vec()),
        1 => Just(b" --content ".to_vec()),
        1 => Just(b" 12".to_vec()),
    ]
}

fn stream() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(stream_byte(), 0..120).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_split_decodes_like_the_whole(
        bytes in stream(),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
        max in 1usize..24,
    ) {
        let whole = decode(&[&bytes], max);
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut pieces = Vec::new();
        let mut start = 0;
        for p in points {
            pieces.push(&bytes[start..p]);
            start = p;
        }
        pieces.push(&bytes[start..]);
        prop_assert_eq!(&decode(&pieces, max), &whole);
        let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
        prop_assert_eq!(&decode(&bytewise, max), &whole);
    }

    #[test]
    fn no_decoded_line_is_longer_than_the_limit(bytes in stream(), max in 1usize..24) {
        let mut filter = TelnetFilter::default();
        let mut decoder = LineDecoder::new(max);
        let mut lines = BytesMut::new();
        filter.push(&bytes, &mut lines);
        while let Some(line) = decoder.decode(&mut lines) {
            if let Ok(line) = line {
                prop_assert!(line.len() <= max);
                prop_assert!(!line.contains('\n'));
            }
        }
    }

    #[test]
    fn the_parser_never_panics_on_any_text(line in any::<String>()) {
        let _ = Command::parse(&line);
    }

    #[test]
    fn the_parser_never_panics_on_command_like_text(bytes in stream()) {
        let text = String::from_utf8_lossy(&bytes);
        for line in text.split('\n') {
            if let Ok(command) = Command::parse(line) {
                // Whatever parsed belongs to a table row.
                prop_assert!(line.trim_start().starts_with(command.spec().name));
            }
        }
    }

    #[test]
    fn udp_parsing_never_panics(datagram in any::<String>()) {
        let _ = UdpRequest::parse(&datagram);
        let _ = parse_reply_part(&datagram);
    }

    #[test]
    fn udp_parts_stay_under_the_limit_and_join_back(
        text in any::<String>(),
        id in "[0-9a-f]{1,32}",
        max in 64usize..1500,
    ) {
        let datagrams = split_reply(&id, &text, max);
        let mut joined = String::new();
        for (i, d) in datagrams.iter().enumerate() {
            prop_assert!(d.len() <= max, "{} > {}", d.len(), max);
            let part = parse_reply_part(d).expect("a part parses");
            prop_assert_eq!(part.id, id.as_str());
            prop_assert_eq!(part.part as usize, i + 1);
            prop_assert_eq!(part.total as usize, datagrams.len());
            joined.push_str(part.text);
        }
        prop_assert_eq!(joined, text);
    }
}
