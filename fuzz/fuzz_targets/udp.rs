//! UDP datagram parsing never panics, and any answer split into parts
//! stays under the size limit and joins back to itself.
#![no_main]

use bbs_protocol::udp::{parse_reply_part, split_reply, UdpRequest, MAX_REPLY};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = UdpRequest::parse(text);
    let _ = parse_reply_part(text);
    let parts = split_reply("fuzz1234", text, MAX_REPLY);
    let mut joined = String::new();
    for (i, datagram) in parts.iter().enumerate() {
        assert!(datagram.len() <= MAX_REPLY);
        let part = parse_reply_part(datagram).expect("own parts parse");
        assert_eq!(part.part as usize, i + 1);
        joined.push_str(part.text);
    }
    assert_eq!(joined, text);
});
