//! Issue 5, UDP: oversized datagrams, senders without a valid token (never
//! more than three times the bytes they sent, issue 18), tokens bound to
//! the address that logged in, the per-address rate limit, and long answers
//! in numbered parts of at most 1,200 bytes (10,000 chatrooms), over real
//! sockets.

use std::collections::BTreeMap;
use std::net::{IpAddr, UdpSocket};
use std::time::Duration;

use bbs_protocol::table::format_table;
use bbs_protocol::udp::{parse_reply_part, UdpRequest, MAX_REPLY, PART_WINDOW};
use bbs_server::{Config, Rate};

use bbs_testkit::{
    database_with_chatrooms, udp_exchange, udp_exchange_from, udp_replies_before_barrier, udp_request, TestServer,
};

/// How long to wait before concluding that no reply is coming.
const SILENCE: Duration = Duration::from_millis(300);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A server with user `u` logged in over TCP from 127.0.0.1; its token.
fn logged_in(server: &TestServer) -> (bbs_testkit::DialectClient, String) {
    let mut c = server.client();
    assert_eq!(c.call("register u u@x pw").text, "Register successfully.");
    let token = c.login("u", "pw").expect("login gives a token");
    (c, token)
}

fn padded_to(mut datagram: String, len: usize) -> String {
    while datagram.len() < len {
        datagram.push(' ');
    }
    datagram
}

#[test]
fn datagrams_over_512_bytes_are_dropped() {
    let server = TestServer::start();
    let (_c, token) = logged_in(&server);
    let request = UdpRequest::encode("t1", Some(&token), "whoami");
    let at_limit = padded_to(request.clone(), 512);
    assert_eq!(udp_exchange(server.addr, at_limit.as_bytes(), Duration::from_secs(20)), Some(b"@t1 u".to_vec()));
    let over = padded_to(request, 513);
    assert_eq!(udp_replies_before_barrier(ip("127.0.0.1"), server.addr, over.as_bytes()), Vec::<Vec<u8>>::new());
}

/// What each request from a fresh address without a valid token gets back
/// (three times its size at most, RFC 9000 §8.1): the whole answer, a
/// shorter truthful one, or nothing.
#[test]
fn a_sender_without_a_valid_token_never_gets_more_than_three_times_what_it_sent() {
    let server = TestServer::start();
    let (_c, token) = logged_in(&server);
    let unknown = "0123456789abcdef0123456789abcdef";
    let forged = format!("{}X", &token[..31]);
    let cases: Vec<(String, Option<&str>)> = vec![
        // 6 bytes earn 18, one short of "Please login first.", so whoami is
        // not run; with the newline nc sends, 7 bytes earn 21.
        ("whoami".into(), Some("Request too short.")),
        ("whoami\n".into(), Some("Please login first.")),
        ("list-chatroom".into(), Some("Please login first.")),
        ("register".into(), Some("Usage: register")),
        ("register a b".into(), Some("Usage: register")),
        ("register a b c d e f g h".into(), Some("Usage: register <username> <email> <password>")),
        ("xyzzy".into(), None),
        ("xyzzy\n".into(), Some("Unknown command.")),
        ("xyzzy plugh".into(), Some("Unknown command: xyzzy")),
        ("exit".into(), None),
        ("exit\n".into(), Some("Not over UDP.")),
        ("login u pw".into(), Some("login works over TCP, not UDP.")),
        ("@t1 - whoami".into(), Some("@t1 Please login first.")),
        ("@t1 - list-chatroom".into(), Some("@t1 Please login first.")),
        ("@t1 - register".into(), Some("@t1 Usage: register")),
        ("@t1 - register a".into(), Some("@t1 Usage: register")),
        ("@t1 - create-board x".into(), Some("@t1 create-board works over TCP, not UDP.")),
        ("@t1 zz whoami".into(), Some("@t1 Please login first.")),
        ("@t1 zz bogus-command".into(), Some("@t1 Unknown command: bogus-command")),
        (format!("@t1 {unknown} whoami"), Some("@t1 Please login first.")),
        (format!("@t1 {unknown} list-chatroom"), Some("@t1 Please login first.")),
        (format!("@t1/1-16 {unknown} list-chatroom"), Some("@t1 Please login first.")),
        (format!("@t1 {forged} whoami"), Some("@t1 Please login first.")),
        (format!("@t1 {forged} list-user"), Some("@t1 list-user works over TCP, not UDP.")),
        ("register someone s@x.org secret1".into(), Some("Register successfully.")),
        ("@t2 - register someone s@x.org secret1".into(), Some("@t2 Username is already used.")),
    ];
    for (i, (request, expected)) in cases.iter().enumerate() {
        // A fresh address each time: nothing earned before this request.
        let from = ip(&format!("127.0.2.{}", i + 1));
        let spawned = ["list-chatroom", "register "].iter().any(|c| request.contains(c)) && expected.is_some();
        let replies = if spawned {
            // Answered from a task, so not ordered with a barrier; every
            // such request here has an answer to wait for.
            udp_exchange_from(from, server.addr, request.as_bytes(), Duration::from_secs(20)).into_iter().collect()
        } else {
            udp_replies_before_barrier(from, server.addr, request.as_bytes())
        };
        let replies: Vec<String> = replies.into_iter().map(|r| String::from_utf8(r).unwrap()).collect();
        let expected: Vec<String> = expected.iter().map(|e| e.to_string()).collect();
        assert_eq!(replies, expected, "{request:?}");
        for reply in &replies {
            assert!(reply.len() <= 3 * request.len(), "{request:?} got {reply:?}");
        }
    }
}

#[test]
fn a_token_counts_only_from_the_address_that_logged_in() {
    let server = TestServer::start();
    let (_c, token) = logged_in(&server);
    let request = UdpRequest::encode("t1", Some(&token), "whoami");
    let from = |local: &str| {
        let reply = udp_exchange_from(ip(local), server.addr, request.as_bytes(), Duration::from_secs(20));
        String::from_utf8(reply.expect("a reply")).unwrap()
    };
    assert_eq!(from("127.0.0.1"), "@t1 u");
    assert_eq!(from("127.0.0.2"), "@t1 Please login first.");
}

#[test]
fn a_token_dies_with_its_connection() {
    let server = TestServer::start();
    let (mut c, token) = logged_in(&server);
    assert_eq!(udp_request(server.addr, Some(&token), "whoami"), "u");
    assert_eq!(c.call("logout").text, "Bye, u.");
    assert_eq!(udp_request(server.addr, Some(&token), "whoami"), "Please login first.");
}

#[test]
fn datagrams_from_one_address_are_rate_limited_and_other_addresses_are_not() {
    let server =
        TestServer::start_with(Config { udp_rate_per_ip: Rate::new(5, Duration::from_secs(60)), ..Config::default() });
    let request = UdpRequest::encode("t1", None, "whoami");
    for i in 0..5 {
        let reply = udp_exchange_from(ip("127.0.0.5"), server.addr, request.as_bytes(), Duration::from_secs(20));
        assert_eq!(reply.as_deref(), Some(&b"@t1 Please login first."[..]), "request {i}");
    }
    assert_eq!(udp_exchange_from(ip("127.0.0.5"), server.addr, request.as_bytes(), SILENCE), None);
    let other = udp_exchange_from(ip("127.0.0.6"), server.addr, request.as_bytes(), Duration::from_secs(20));
    assert_eq!(other.as_deref(), Some(&b"@t1 Please login first."[..]));
}

/// Receives `n` datagrams, then checks that no more come.
fn receive(socket: &UdpSocket, n: usize) -> Vec<Vec<u8>> {
    socket.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buf = vec![0u8; 65_536];
    let got: Vec<Vec<u8>> = (0..n)
        .map(|_| {
            let len = socket.recv(&mut buf).expect("a part");
            buf[..len].to_vec()
        })
        .collect();
    socket.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    assert!(socket.recv(&mut buf).is_err(), "more than {n} datagrams came");
    got
}

#[test]
fn list_chatroom_with_10000_rooms_comes_in_numbered_parts_of_at_most_1200_bytes() {
    let (_dir, db, names) = database_with_chatrooms(10_000);
    assert_eq!(names.len(), 10_000);
    let server = TestServer::start_on(&db, Config::default());
    let (_c, token) = logged_in(&server);
    let rows: Vec<Vec<String>> = names.into_iter().map(|name| vec![name, "close".to_owned()]).collect();
    let expected = format_table(&["Chatroom_name", "Status"], &rows);

    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.connect(server.addr).unwrap();
    let mut parts: BTreeMap<u32, String> = BTreeMap::new();
    let mut total = None;
    let ask = |socket: &UdpSocket, datagram: String, expect: usize| -> Vec<Vec<u8>> {
        socket.send(datagram.as_bytes()).unwrap();
        receive(socket, expect)
    };
    // The first request brings one window of parts.
    let mut window = ask(&socket, UdpRequest::encode("big", Some(&token), "list-chatroom"), PART_WINDOW as usize);
    loop {
        for datagram in &window {
            assert!(datagram.len() <= MAX_REPLY, "a datagram of {} bytes", datagram.len());
            let text = std::str::from_utf8(datagram).unwrap();
            let part = parse_reply_part(text).expect("a numbered part");
            assert_eq!(part.id, "big");
            assert_eq!(*total.get_or_insert(part.total), part.total);
            parts.insert(part.part, part.text.to_owned());
        }
        let total = total.unwrap();
        let Some(next) = (1..=total).find(|p| !parts.contains_key(p)) else { break };
        let to = (next + PART_WINDOW - 1).min(total);
        let request = UdpRequest::encode_parts("big", (next, to), Some(&token), "list-chatroom");
        window = ask(&socket, request, (to - next + 1) as usize);
    }
    assert!(total.unwrap() > 100, "{total:?} parts");
    let joined: String = parts.values().map(String::as_str).collect();
    assert_eq!(joined.lines().count(), 10_001);
    assert!(
        joined == expected,
        "the joined parts differ from the table ({} vs {} bytes)",
        joined.len(),
        expected.len()
    );
    // A lost part is asked for again and comes back identical.
    let again = ask(&socket, UdpRequest::encode_parts("big", (5, 5), Some(&token), "list-chatroom"), 1);
    let part = parse_reply_part(std::str::from_utf8(&again[0]).unwrap()).unwrap();
    assert_eq!((part.part, part.text), (5, parts[&5].as_str()));
    // A window is at most PART_WINDOW parts, whatever is asked.
    ask(&socket, UdpRequest::encode_parts("big", (1, 100_000), Some(&token), "list-chatroom"), PART_WINDOW as usize);
    // Without the token, the same request gets only "Please login first.".
    let anonymous = ask(&socket, UdpRequest::encode("big2", None, "list-chatroom"), 1);
    assert_eq!(anonymous, vec![b"@big2 Please login first.".to_vec()]);
}
