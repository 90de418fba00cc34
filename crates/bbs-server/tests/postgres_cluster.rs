//! Two real `bbsd` processes on one (throwaway) PostgreSQL serve one BBS:
//! the §9 scenario with its four clients spread over both; a `tell` and a
//! subscription notification from a session on one process reach a
//! session on the other live, in order; a chatroom opened through one is
//! joined through the other; a UDP `whoami` is answered by the process the
//! login did not go through; concurrent deposits through both add up; and
//! when one process is killed with SIGKILL the other keeps serving, with
//! everything acknowledged, while the dead one's sessions leave
//! `list-online` within its lease.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use bbs_protocol::chat::RoomKey;
use bbs_protocol::ClientFrame::ChatroomOpened;
use bbs_protocol::Event;
use bbs_storage_postgres::throwaway::ThrowawayServer;
use bbs_testkit::{udp_request, BbsdProcess, PlainClient};
use support::section9::{play, Person};

/// Heartbeats every 0.3 s, dead after 1.5 s without one: the test waits
/// for a dead process's sessions to go in seconds, not the default 15.
const LEASE: Duration = Duration::from_millis(1500);
const HEARTBEAT: Duration = Duration::from_millis(300);

fn start(url: &str, files: &Path) -> BbsdProcess {
    let files = files.to_str().expect("UTF-8 temporary path");
    let heartbeat = HEARTBEAT.as_secs_f64().to_string();
    let lease = LEASE.as_secs_f64().to_string();
    let flags = [
        "--files-dir",
        files,
        "--heartbeat-interval",
        &heartbeat,
        "--node-lease",
        &lease,
        // Every client of the test comes from 127.0.0.1.
        "--write-rate-account",
        "100000/1",
        "--write-rate-ip",
        "100000/1",
        "--tell-rate",
        "100000/1",
    ];
    BbsdProcess::start(Path::new(env!("CARGO_BIN_EXE_bbsd")), Path::new(url), &flags)
}

/// The rows of a table answer (without its header).
fn rows(table: &str) -> Vec<String> {
    table.lines().skip(1).map(str::to_owned).collect()
}

/// The names in `list-online`, in its order.
fn online(person: &mut Person) -> Vec<String> {
    rows(&person.run("list-online")).iter().map(|r| r.split_whitespace().next().unwrap_or("").to_owned()).collect()
}

#[test]
fn two_bbsd_on_one_postgres_serve_one_bbs() {
    let postgres = ThrowawayServer::start().expect("throwaway PostgreSQL");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let url = runtime.block_on(postgres.fresh_database()).expect("a fresh database");
    let files = tempfile::tempdir().unwrap();
    let a = start(&url, files.path());
    let b = start(&url, files.path());

    // §9 with clients 1 and 3 on A, 2 and 4 on B.
    let mut people =
        vec![Person::client(a.addr), Person::client(b.addr), Person::client(a.addr), Person::client(b.addr)];
    play(&mut people);
    let [user0, user1, user2, _anonymous] = &mut people[..] else { unreachable!() };

    // A login made through A is known to B's UDP side.
    let token0 = user0.token().expect("user0 is logged in").to_owned();
    assert_eq!(udp_request(b.addr, Some(&token0), "whoami"), "user0");
    assert_eq!(udp_request(b.addr, Some(user1.token().unwrap()), "whoami"), "user1");
    assert_eq!(udp_request(b.addr, Some("not-a-token"), "whoami"), "Please login first.");

    // list-online through either process shows both processes' sessions.
    assert_eq!(online(user1), ["user0", "user1", "user2"]);
    assert_eq!(online(user0), ["user0", "user1", "user2"]);

    // `tell` from A to a session on B: live, in the order sent.
    for n in 0..20 {
        assert_eq!(user0.run(&format!("tell user1 message {n}")), "");
    }
    for n in 0..20 {
        assert_eq!(user1.dialect().push().text, format!("user0 told you: message {n}"));
    }
    // And from B to A.
    assert_eq!(user1.run("tell user2 back at you"), "");
    assert_eq!(user2.dialect().push().text, "user1 told you: back at you");

    // A subscriber on B hears of a post made through A.
    assert_eq!(user1.run("subscribe --board NP_HW2 --keyword cluster"), "Subscribe successfully.");
    assert_eq!(user0.run("create-post NP_HW2 --title cluster news --content x"), "Create post successfully.");
    assert_eq!(user1.dialect().push().text, "*[NP_HW2] cluster news - by user0*");

    // A chatroom opened through A is joined through B.
    let port = match user0.dialect().call("create-chatroom 6010").event {
        Some(Event::ChatroomBind { port }) => port,
        other => panic!("{other:?}"),
    };
    let opened = user0.dialect().request(&ChatroomOpened);
    let Some(Event::ChatroomOpened { key, .. }) = opened.event else { panic!("{opened:?}") };
    let key = RoomKey::from_hex(&key).expect("a room key");
    assert_eq!(user1.run("list-chatroom"), "Chatroom_name  Status\nuser0          open");
    let joined = user1.dialect().call("join-chatroom user0");
    let Some(Event::ChatroomTicket { port: at, ticket, .. }) = joined.event else { panic!("{joined:?}") };
    assert_eq!(at, port);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert_eq!(ticket.verify(&key, "user0", now), Ok(()), "B hands out tickets with the key A made");

    // Concurrent deposits through both processes all count.
    let depositors: Vec<_> = [a.addr, a.addr, b.addr, b.addr]
        .into_iter()
        .enumerate()
        .map(|(n, server)| {
            std::thread::spawn(move || {
                let mut p = PlainClient::connect(server);
                let name = format!("depositor{n}");
                assert_eq!(p.send(&format!("register {name} {name}@x.y pw")), "Register successfully.");
                assert_eq!(p.send(&format!("login {name} pw")), format!("Welcome, {name}."));
                for _ in 0..25 {
                    assert_eq!(p.send("deposit ACCOUNT1 3"), "Successfully deposits 3 into ACCOUNT1.");
                }
            })
        })
        .collect();
    for depositor in depositors {
        depositor.join().expect("a depositor");
    }
    assert_eq!(user0.run("show-accounts"), "ACCOUNT1: 300\nACCOUNT2: 0");
    assert_eq!(user1.run("show-accounts"), "ACCOUNT1: 300\nACCOUNT2: 0");

    // What A acknowledged just before it dies is there after.
    assert_eq!(user0.run("deposit ACCOUNT2 7"), "Successfully deposits 7 into ACCOUNT2.");
    assert_eq!(user2.run("create-post NP_test --title last words --content y"), "Create post successfully.");
    let killed = Instant::now();
    a.kill_9();

    // B keeps serving; A's sessions leave list-online within the lease
    // (plus a heartbeat), and the room A's session ran is closed.
    assert_eq!(user1.run("show-accounts"), "ACCOUNT1: 300\nACCOUNT2: 7");
    let listed = rows(&user1.run("list-post NP_test"));
    assert!(listed.last().is_some_and(|row| row.contains("last words")), "{listed:?}");
    let deadline = killed + LEASE + HEARTBEAT * 2 + Duration::from_secs(3);
    while online(user1) != ["user1"] {
        assert!(Instant::now() < deadline, "A's sessions are still listed: {:?}", online(user1));
        std::thread::sleep(Duration::from_millis(100));
    }
    let gone_after = killed.elapsed();
    // A's last heartbeat may have come up to one interval before the kill.
    assert!(gone_after + HEARTBEAT >= LEASE, "not before the lease: {gone_after:?}");
    assert_eq!(user1.run("list-chatroom"), "Chatroom_name  Status\nuser0          close");
    assert_eq!(udp_request(b.addr, Some(&token0), "whoami"), "Please login first.");
    assert_eq!(user1.run("tell user0 are you there"), "user0 is not online; the message waits for the next login.");
    let mut again = Person::client(b.addr);
    assert_eq!(
        again.run("login user0 user0"),
        "Welcome, user0.\nYou have 1 message(s) waiting:\nuser1 told you: are you there"
    );
}
