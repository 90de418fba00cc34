//! Issue 5, UDP: oversized datagrams, senders without a valid token (never
//! more bytes back than they sent), tokens bound to the address that logged
//! in, the per-address rate limit, and long answers in numbered parts of at
//! most 1,200 bytes (10,000 chatrooms), over real sockets.

use std::collections::BTreeMap;
use std::net::{IpAddr, UdpSocket};
use std::time::Duration;

use bbs_protocol::table::format_table;
use bbs_protocol::udp::{pad_request, parse_reply_part, UdpRequest, MAX_REPLY, PART_WINDOW};
use bbs_server::{Config, Rate};

use bbs_testkit::{database_with_chatrooms, udp_exchange, udp_exchange_from, udp_request, TestServer};

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
    assert_eq!(udp_exchange(server.addr, over.as_bytes(), SILENCE), None);
}

#[test]
fn a_sender_without_a_valid_token_never_gets_more_bytes_than_it_sent() {
    let server = TestServer::start();
    let (_c, token) = logged_in(&server);
    let unknown = "0123456789abcdef0123456789abcdef";
    let requests: Vec<String> = vec![
        "whoami".into(),
        "list-chatroom".into(),
        "register".into(),
        "register a b".into(),
        "xyzzy".into(),
        "login u pw".into(),
        "@t1 - whoami".into(),
        "@t1 - list-chatroom".into(),
        "@t1 - register".into(),
        "@t1 - register a".into(),
        "@t1 - create-board x".into(),
        "@t1 zz whoami".into(),
        "@t1 zz bogus-command".into(),
        format!("@t1 {unknown} whoami"),
        format!("@t1 {unknown} list-chatroom"),
        format!("@t1/1-16 {unknown} list-chatroom"),
        format!("@t1 {}X whoami", &token[..31]),
    ];
    for request in &requests {
        if let Some(reply) = udp_exchange(server.addr, request.as_bytes(), SILENCE) {
            assert!(
                reply.len() <= request.len(),
                "{request:?} ({} bytes) got {:?} ({} bytes)",
                request.len(),
                String::from_utf8_lossy(&reply),
                reply.len()
            );
        }
    }
    // A request long enough for the answer gets it.
    let exact = |request: &str| {
        let reply = udp_exchange(server.addr, request.as_bytes(), Duration::from_secs(20)).expect("a reply");
        String::from_utf8(reply).unwrap()
    };
    assert_eq!(exact(&format!("@t1 {unknown} whoami")), "@t1 Please login first.");
    assert_eq!(exact(&format!("@t1 {unknown} list-chatroom")), "@t1 Please login first.");
    assert_eq!(exact(&pad_request("@t2 - whoami".into())), "@t2 Please login first.");
    assert_eq!(
        exact(&pad_request("@t3 - register".into())),
        "@t3 Usage: register <username> <email> <password>"
    );
    assert_eq!(exact("register someone s@x.org secret1"), "Register successfully.");
    // The short forms got nothing at all rather than a cut answer.
    assert_eq!(udp_exchange(server.addr, b"whoami", SILENCE), None);
    assert_eq!(udp_exchange(server.addr, b"register", SILENCE), None);
}

#[test]
fn a_token_counts_only_from_the_address_that_logged_in() {
    let server = TestServer::start();
    let (_c, token) = logged_in(&server);
    let request = pad_request(UdpRequest::encode("t1", Some(&token), "whoami"));
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
    let server = TestServer::start_with(Config { udp_rate_per_ip: Rate::new(5, Duration::from_secs(60)), ..Config::default() });
    let request = pad_request(UdpRequest::encode("t1", None, "whoami"));
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
        socket.send(pad_request(datagram).as_bytes()).unwrap();
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
    assert!(joined == expected, "the joined parts differ from the table ({} vs {} bytes)", joined.len(), expected.len());
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
