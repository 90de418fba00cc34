//! Coverage-guided twin of the split-invariance property test: a byte
//! stream fed through the telnet filter and the line decoder in pieces
//! decodes to the same lines (and commands) as fed whole; nothing panics.
#![no_main]

use bbs_protocol::line::{LineDecoder, LineError};
use bbs_protocol::telnet::TelnetFilter;
use bbs_protocol::{Command, ParseError};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

fn decode(pieces: &[&[u8]], max: usize) -> Vec<Result<Result<Command, ParseError>, LineError>> {
    let mut filter = TelnetFilter::default();
    let mut decoder = LineDecoder::new(max);
    let mut lines = BytesMut::new();
    let mut out = Vec::new();
    for piece in pieces {
        filter.push(piece, &mut lines);
        while let Some(line) = decoder.decode(&mut lines) {
            if let Ok(line) = &line {
                assert!(line.len() <= max);
            }
            out.push(line.map(|l| Command::parse(&l)));
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    // First byte: the line limit; second: the piece size; the rest: the stream.
    let [max, piece, stream @ ..] = data else { return };
    let max = usize::from(*max % 64) + 1;
    let piece = usize::from(*piece % 16) + 1;
    let whole = decode(&[stream], max);
    let pieces: Vec<&[u8]> = stream.chunks(piece).collect();
    assert_eq!(decode(&pieces, max), whole);
});
