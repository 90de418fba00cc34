//! Spec §9, the four-client scenario, shared by the tests that play it (one
//! server; two server processes on one database): the people at their
//! keyboards, the scenario, and its player.

#![allow(dead_code)] // each test file uses its own part of it

use std::net::SocketAddr;

use bbs_protocol::{Command, Transport};
use bbs_testkit::{udp_request, DialectClient, PlainClient};

/// One person at a keyboard, through either kind of connection.
pub enum Person {
    /// The client dialect; UDP commands go as datagrams with the token.
    Client { tcp: DialectClient, token: Option<String>, server: std::net::SocketAddr },
    /// Plain TCP, everything typed on the one connection.
    Plain(PlainClient),
}

impl Person {
    /// A `bbs` client of the server at `server` (TCP and UDP).
    pub fn client(server: SocketAddr) -> Person {
        Person::Client { tcp: DialectClient::connect(server), token: None, server }
    }

    pub fn plain(server: SocketAddr) -> Person {
        Person::Plain(PlainClient::connect(server))
    }

    /// The login token a client was given, if logged in.
    pub fn token(&self) -> Option<&str> {
        match self {
            Person::Client { token, .. } => token.as_deref(),
            Person::Plain(_) => None,
        }
    }

    /// The client's TCP connection (to wait for pushes).
    pub fn dialect(&mut self) -> &mut DialectClient {
        match self {
            Person::Client { tcp, .. } => tcp,
            Person::Plain(_) => panic!("a telnet user has no client connection"),
        }
    }

    /// Types `line` and returns what the screen shows.
    pub fn run(&mut self, line: &str) -> String {
        match self {
            Person::Plain(p) => p.send(line),
            Person::Client { tcp, token, server } => {
                let udp = Command::parse(line).is_ok_and(|c| c.spec().transport == Transport::Udp);
                if udp {
                    return udp_request(*server, token.as_deref(), line);
                }
                let reply = tcp.call(line);
                match reply.event {
                    Some(bbs_protocol::Event::LoggedIn { token: t, .. }) => *token = Some(t),
                    Some(bbs_protocol::Event::LoggedOut) => *token = None,
                    _ => {}
                }
                reply.text
            }
        }
    }
}

pub fn today() -> String {
    chrono::Local::now().format("%m/%d").to_string()
}

/// Spec §9: (client, typed line, expected screen). `MM/DD` is today.
pub const SCENARIO: &[(usize, &str, &str)] = &[
    (1, "register user0 user0@qwer.zxcv user0", "Register successfully."),
    (1, "login user0 user0", "Welcome, user0."),
    (1, "create-board NP_HW2", "Create board successfully."),
    (1, "create-board NP_HW2", "Board already exists."),
    (2, "register user1 user1@qwer.zxcv user1", "Register successfully."),
    (2, "login user1 user1", "Welcome, user1."),
    (2, "create-board NP_test", "Create board successfully."),
    (3, "register user2 user2@qwer.zxcv user2", "Register successfully."),
    (3, "login user2 user2", "Welcome, user2."),
    (3, "create-board NP_HW2", "Board already exists."),
    (3, "create-board ALGORITHM_HW", "Create board successfully."),
    (4, "create-board NCTU_CS", "Please login first."),
    (
        2,
        "list-board",
        "Index  Name          Moderator\n1      NP_HW2        user0\n2      NP_test       user1\n3      ALGORITHM_HW  user2",
    ),
    (
        1,
        "create-post NP_HW2 --title TA About NP HW2 --content NP project2<br>Make a BBS<br>Deadline: 11/27",
        "Create post successfully.",
    ),
    (
        2,
        "create-post NP_HW2 --title NP HW2 deadline --content Help!<br>Does anyone know when the deadline is?",
        "Create post successfully.",
    ),
    (2, "create-post NCTU_CS --title Ha! Ha! XD --content Ha!<br>Ha!", "Board does not exist."),
    (
        3,
        "create-post NP_HW2 --title Need Help! --content I can not understand HW2.<br>Please give me some suggestions.",
        "Create post successfully.",
    ),
    (
        1,
        "create-post NP_HW2 --title TA HW2 TA_time --content NP project2<br>TA time:14:00to15:00",
        "Create post successfully.",
    ),
    (4, "create-post NP_test --title NP --content NP", "Please login first."),
    (
        2,
        "list-post NP_HW2",
        "S/N  Title            Author  Date\n\
         1    TA About NP HW2  user0   MM/DD\n\
         2    NP HW2 deadline  user1   MM/DD\n\
         3    Need Help!       user2   MM/DD\n\
         4    TA HW2 TA_time   user0   MM/DD",
    ),
    (3, "list-post NCTU_CS", "Board does not exist."),
    (1, "read 666", "Post does not exist."),
    (1, "comment 666 Ha Ha", "Post does not exist."),
    (1, "delete-post 666", "Post does not exist."),
    (1, "update-post 666 --content Ha Ha", "Post does not exist."),
    (
        3,
        "read 2",
        "Author: user1\nTitle: NP HW2 deadline\nDate: MM/DD\n--\nHelp!\nDoes anyone know when the deadline is?\n--",
    ),
    (3, "comment 2 You posted in the wrong Board!", "Comment successfully."),
    (2, "delete-post 3", "Not the post owner."),
    (2, "delete-post 2", "Delete successfully."),
    (3, "read 2", "Post does not exist."),
    (2, "update-post 4 --content Ha Ha", "Not the post owner."),
    (3, "comment 4 Can extend the TA time?", "Comment successfully."),
    (1, "update-post 4 --title TA_HW2 TA_time::Update", "Update successfully."),
    (1, "update-post 4 --content NP project2<br>TA time:14:00to17:00", "Update successfully."),
    (1, "comment 4 OK^^", "Comment successfully."),
    (4, "comment 4 Ha Ha", "Please login first."),
    (4, "delete-post 3", "Please login first."),
    (4, "update-post 4 --title Ha Ha", "Please login first."),
    (
        4,
        "list-post NP_HW2",
        "S/N  Title                   Author  Date\n\
         1    TA About NP HW2         user0   MM/DD\n\
         3    Need Help!              user2   MM/DD\n\
         4    TA_HW2 TA_time::Update  user0   MM/DD",
    ),
    (
        4,
        "read 4",
        "Author: user0\nTitle: TA_HW2 TA_time::Update\nDate: MM/DD\n--\nNP project2\nTA time:14:00to17:00\n--\n\
         user2: Can extend the TA time?\nuser0: OK^^",
    ),
];

pub fn play(people: &mut [Person]) {
    let today = today();
    for (step, &(who, line, expected)) in SCENARIO.iter().enumerate() {
        let shown = people[who - 1].run(line);
        assert_eq!(shown, expected.replace("MM/DD", &today), "step {step}: P{who}> {line}");
    }
}
