//! Issue 18: plain UDP datagrams, as `nc -u` sends them, get their course
//! answers within QUIC's threefold amplification budget (RFC 9000 §8.1),
//! and no address ever gets more than three times the bytes it sent.
//!
//! Each check that needs a fresh budget sends from its own 127.x.y.z
//! address (any of them is loopback on Linux).

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use bbs_protocol::command::COMMANDS;
use bbs_server::{Config, Rate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use bbs_testkit::{udp_exchange_from, udp_replies_before_barrier, TestServer, ANSWER_TIMEOUT};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Sends one datagram from `local` and waits for its one reply, as text.
fn answer_from(server: &TestServer, local: &str, datagram: &str) -> String {
    let reply = udp_exchange_from(ip(local), server.addr, datagram.as_bytes(), ANSWER_TIMEOUT);
    String::from_utf8(reply.unwrap_or_else(|| panic!("no answer to {datagram:?}"))).unwrap()
}

/// The replies to a datagram answered inline (see the testkit's barrier).
fn inline_replies(server: &TestServer, local: &str, datagram: &[u8]) -> Vec<String> {
    let replies = udp_replies_before_barrier(ip(local), server.addr, datagram);
    replies.into_iter().map(|r| String::from_utf8(r).unwrap()).collect()
}

#[test]
fn course_udp_commands_typed_into_nc_get_their_course_answers() {
    let server = TestServer::start();
    // register and list-chatroom are answered from a task: wait for them.
    assert_eq!(answer_from(&server, "127.0.3.1", "register al a@b.c pw\n"), "Register successfully.");
    assert_eq!(answer_from(&server, "127.0.3.2", "register al a@b.c pw\n"), "Username is already used.");
    assert_eq!(answer_from(&server, "127.0.3.3", "list-chatroom\n"), "Please login first.");
    // The rest are answered inline, so the barrier shows there is nothing else.
    assert_eq!(inline_replies(&server, "127.0.3.4", b"whoami\n"), ["Please login first."]);
    assert_eq!(
        inline_replies(&server, "127.0.3.5", b"register al a@b.c\n"),
        ["Usage: register <username> <email> <password>"]
    );
    assert_eq!(inline_replies(&server, "127.0.3.6", b"whoami now\n"), ["Usage: whoami"]);
    assert_eq!(inline_replies(&server, "127.0.3.7", b"list-chatroom all\n"), ["Usage: list-chatroom"]);
    // 9 bytes earn 27: the 46-byte usage line does not fit, its short form does.
    assert_eq!(inline_replies(&server, "127.0.3.8", b"register\n"), ["Usage: register"]);
    assert_eq!(inline_replies(&server, "127.0.3.9", b"login al pw\n"), ["login works over TCP, not UDP."]);
    // The account made over UDP is real.
    let mut tcp = server.client();
    assert!(tcp.login("al", "pw").is_some(), "al can log in");
}

#[test]
fn an_empty_or_blank_datagram_gets_no_reply() {
    let server = TestServer::start();
    for (i, datagram) in ["", "\n", "\r\n", "   \n", "\t", "@t1 - ", "@t1 - \n", "@t1 -"].iter().enumerate() {
        let from = format!("127.0.4.{}", i + 1);
        assert_eq!(inline_replies(&server, &from, datagram.as_bytes()), Vec::<String>::new(), "{datagram:?}");
    }
}

/// A failure whose full text does not fit (the 68-byte "Server busy: …")
/// arrives as its headline, and nothing was registered.
#[test]
fn a_register_whose_long_failure_does_not_fit_gets_its_headline() {
    let busy = "Server busy: too many logins at once. Please try again in a moment.";
    // No hashing queue: every registration of a new name is busy.
    let server = TestServer::start_with(Config { hash_workers: 1, hash_queue: 0, ..Config::default() });
    assert_eq!(answer_from(&server, "127.0.5.1", "register bo b@c.d pw\n"), "Server busy.");
    // 23 bytes earn 69: room for the whole text.
    assert_eq!(answer_from(&server, "127.0.5.2", "register bo b@c.d pw  \n"), busy);
    // Still busy, not "Username is already used.": bo was never registered.
    assert_eq!(answer_from(&server, "127.0.5.3", "register bo b@c.d pw\n"), "Server busy.");
}

/// A command whose answer cannot be sent is not run. No well-formed
/// `register` datagram is that short (14 bytes earn 42, and its longest
/// answer that must fit is the 25-byte "Username is already used."), so
/// the refusal shows on `whoami` without its newline: 6 bytes earn 18,
/// one short of "Please login first.".
#[test]
fn a_command_whose_answer_cannot_be_sent_is_not_run() {
    let server = TestServer::start();
    assert_eq!(inline_replies(&server, "127.0.6.1", b"whoami"), ["Request too short."]);
    // The shortest register there is still gets its answer, and so does
    // the next one from another fresh address.
    assert_eq!(answer_from(&server, "127.0.6.2", "register a b c"), "Register successfully.");
    assert_eq!(answer_from(&server, "127.0.6.3", "register a b c"), "Username is already used.");
}

#[test]
fn a_retry_is_answered_from_memory_within_the_budget() {
    let server = TestServer::start();
    let socket = UdpSocket::bind("127.0.7.1:0").unwrap();
    socket.connect(server.addr).unwrap();
    socket.set_read_timeout(Some(ANSWER_TIMEOUT)).unwrap();
    let mut buf = [0u8; 2048];
    for _ in 0..3 {
        socket.send(b"@r1 - register cy c@d.e pw").unwrap();
        let n = socket.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"@r1 Register successfully.", "the same answer, not 'already used'");
    }
}

/// One datagram of the flood: every command name with and without
/// arguments (usage errors and well-formed lines), guessed tokens, part
/// requests, retries of one tag, blank lines, random bytes and greedy
/// short lines, tagged and bare, with or without a newline.
fn crafted(rng: &mut StdRng, i: usize) -> Vec<u8> {
    let word = |rng: &mut StdRng| -> String {
        let len = rng.gen_range(1..6);
        (0..len).map(|_| rng.gen_range(b'a'..=b'z') as char).collect()
    };
    // First every command name, bare and with too many arguments (every
    // usage error, and the well-formed lines of commands without
    // arguments); the last 7,500 are all greedy, to spend what the others
    // earned.
    if i < 2 * COMMANDS.len() {
        let name = COMMANDS[i / 2].name;
        return if i.is_multiple_of(2) { format!("{name}\n") } else { format!("{name} a b c d e\n") }.into_bytes();
    }
    let pick = if i < 2_500 { rng.gen_range(0..14) } else { 10 };
    let line = match pick {
        // A few new names cost hashing (and find the queue busy).
        _ if i.is_multiple_of(500) => format!("register new{i} n@x.y pw"),
        0..=3 => {
            let name = COMMANDS[rng.gen_range(0..COMMANDS.len())].name;
            let args: Vec<String> = (0..rng.gen_range(0..4)).map(|_| word(rng)).collect();
            format!("{name} {}", args.join(" ")).trim_end().to_owned()
        }
        // A taken name costs no hashing.
        4 => "register taken t@x.y pw".to_owned(),
        5 => word(rng),
        6 => String::new(),
        7 => " ".repeat(rng.gen_range(0..4)),
        8 => "whoami".to_owned(),
        9 => "list-chatroom".to_owned(),
        // Greedy: the fewest bytes for the longest answers, to spend what
        // the rest earned.
        _ => {
            let greedy = ["x", "q", "exit", "read", "attach", "create-post", "update-post"];
            return greedy[rng.gen_range(0..greedy.len())].as_bytes().to_vec();
        }
    };
    let token: String = (0..32).map(|_| char::from(b"0123456789abcdef"[rng.gen_range(0..16)])).collect();
    let mut datagram = match rng.gen_range(0..6) {
        0 | 1 => line,
        2 => format!("@{} - {line}", word(rng)),
        3 => format!("@{} {token} {line}", word(rng)),
        4 => format!("@{}/{}-{} {token} {line}", word(rng), rng.gen_range(1..4), rng.gen_range(4..40)),
        // The same tag again and again: answered from memory.
        _ => format!("@again - {line}"),
    }
    .into_bytes();
    match rng.gen_range(0..8) {
        0 => datagram.push(b'\n'),
        1 => datagram.extend_from_slice(b"\r\n"),
        2 => datagram = (0..rng.gen_range(0..40)).map(|_| rng.gen()).collect(),
        _ => {}
    }
    datagram
}

/// 10,000 random and crafted datagrams from one address: the replies add
/// up to at most three times the requests, though the greedy ones among
/// them ask for more.
///
/// Replies are read on a thread as they come. Every 50 datagrams the test
/// waits for the answer to a barrier request (a `whoami` answered inline,
/// so after everything before it was read), which keeps the server's
/// receive buffer from overflowing. `register` and `list-chatroom` answers
/// come from tasks and may follow any barrier, so the last reply is known
/// to be in only once the server has stopped: `TestServer`'s drop waits
/// until its runtime, and every task that could send, is gone.
#[test]
fn ten_thousand_datagrams_from_one_address_get_at_most_three_times_their_bytes() {
    let server = TestServer::start_with(Config {
        udp_rate_per_ip: Rate::new(1_000_000, Duration::from_secs(1)),
        hash_workers: 1,
        hash_queue: 1,
        ..Config::default()
    });
    assert_eq!(answer_from(&server, "127.0.8.2", "register taken t@x.y pw\n"), "Register successfully.");
    let addr: SocketAddr = server.addr;
    let socket = UdpSocket::bind("127.0.8.1:0").unwrap();
    socket.connect(addr).unwrap();

    let reader = socket.try_clone().unwrap();
    let stopped = Arc::new(AtomicBool::new(false));
    let (barriers, barrier_seen) = mpsc::channel::<Vec<u8>>();
    let reading = {
        let stopped = Arc::clone(&stopped);
        std::thread::spawn(move || {
            // The timeout only sets how often `stopped` is looked at.
            reader.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
            let mut buf = vec![0u8; 65_536];
            let mut replies: Vec<Vec<u8>> = Vec::new();
            loop {
                // Read before the receive: a timeout after the server
                // stopped means the buffer has been emptied.
                let done = stopped.load(Ordering::SeqCst);
                match reader.recv(&mut buf) {
                    Ok(n) => {
                        let reply = buf[..n].to_vec();
                        // Flood tags have no digits, so no flood reply
                        // is taken for a barrier's.
                        if reply.starts_with(b"@bar") {
                            let _ = barriers.send(reply.clone());
                        }
                        replies.push(reply);
                    }
                    Err(_) if done => return replies,
                    Err(_) => {}
                }
            }
        })
    };

    let mut rng = StdRng::seed_from_u64(18);
    let mut sent_bytes = 0usize;
    for i in 0..10_000 {
        let datagram = crafted(&mut rng, i);
        sent_bytes += datagram.len();
        socket.send(&datagram).unwrap();
        if i % 50 == 49 {
            let barrier = format!("@bar{i} - whoami");
            sent_bytes += barrier.len();
            socket.send(barrier.as_bytes()).unwrap();
            let expected = format!("@bar{i} Please login first.").into_bytes();
            loop {
                let seen = barrier_seen.recv_timeout(ANSWER_TIMEOUT).expect("the barrier's answer");
                if seen == expected {
                    break;
                }
            }
        }
    }
    drop(server);
    stopped.store(true, Ordering::SeqCst);
    let replies = reading.join().unwrap();

    let reply_bytes: usize = replies.iter().map(Vec::len).sum();
    assert!(reply_bytes <= 3 * sent_bytes, "{reply_bytes} bytes of replies to {sent_bytes} bytes of requests");
    assert!(replies.iter().all(|r| !r.is_empty()), "an empty reply");
    // Not vacuous: plenty of answers came, and the budget bound: the greedy
    // tail got short forms ("x" and "exit" earn 3 and 12 bytes alone, and
    // got their whole answers while the earlier datagrams' credit lasted).
    // (Run alone, the replies come to within a few bytes of three times
    // the requests; a 10 s window ending mid-test would lower that.)
    let texts: Vec<String> = replies.iter().map(|r| String::from_utf8_lossy(r).into_owned()).collect();
    assert!(replies.len() > 3_000, "only {} replies", replies.len());
    for wanted in ["Please login first.", "Usage: ", "Unknown command: ", "Username is already used."] {
        assert!(texts.iter().any(|t| t.contains(wanted)), "no reply contains {wanted:?}");
    }
    for short in [
        "Unknown command.",
        "Not over UDP.",
        "Usage: create-post",
        "exit works over TCP, not UDP.",
        "Unknown command: x",
    ] {
        assert!(texts.iter().any(|t| t == short), "no reply is {short:?}");
    }
    eprintln!("{} datagrams, {sent_bytes} bytes sent; {} replies, {reply_bytes} bytes", 10_000 + 200, replies.len());
}
