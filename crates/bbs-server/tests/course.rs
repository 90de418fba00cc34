//! The course behaviour (spec §4, §5, §9) against the real server over real
//! sockets: once in the `bbs` client's dialect (with UDP for `register` and
//! `whoami`, as the client does), once as a telnet user would type it.

use bbs_protocol::{Command, Transport};
use bbs_testkit::{udp_request, DialectClient, PlainClient, TestServer};

/// One person at a keyboard, through either kind of connection.
enum Person {
    /// The client dialect; UDP commands go as datagrams with the token.
    Client { tcp: DialectClient, token: Option<String>, server: std::net::SocketAddr },
    /// Plain TCP, everything typed on the one connection.
    Plain(PlainClient),
}

impl Person {
    fn client(server: &TestServer) -> Person {
        Person::Client { tcp: server.client(), token: None, server: server.addr }
    }

    fn plain(server: &TestServer) -> Person {
        Person::Plain(server.plain())
    }

    /// Types `line` and returns what the screen shows.
    fn run(&mut self, line: &str) -> String {
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

fn today() -> String {
    chrono::Local::now().format("%m/%d").to_string()
}

/// Spec §9: (client, typed line, expected screen). `MM/DD` is today.
const SCENARIO: &[(usize, &str, &str)] = &[
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

fn play(people: &mut [Person]) {
    let today = today();
    for (step, &(who, line, expected)) in SCENARIO.iter().enumerate() {
        let shown = people[who - 1].run(line);
        assert_eq!(shown, expected.replace("MM/DD", &today), "step {step}: P{who}> {line}");
    }
}

#[test]
fn four_clients_of_the_bbs_client_play_spec_section_9() {
    let server = TestServer::start();
    let mut people: Vec<Person> = (0..4).map(|_| Person::client(&server)).collect();
    play(&mut people);
}

#[test]
fn four_telnet_users_play_spec_section_9() {
    let server = TestServer::start();
    let mut people: Vec<Person> = (0..4).map(|_| Person::plain(&server)).collect();
    play(&mut people);
}

#[test]
fn account_answers_of_spec_section_4() {
    let server = TestServer::start();
    let mut a = Person::client(&server);
    let mut b = Person::plain(&server);
    for (line, expected) in [
        ("register", "Usage: register <username> <email> <password>"),
        ("register Bob bob@qwer.asdf", "Usage: register <username> <email> <password>"),
        ("register Bob bob@qwer.asdf 123", "Register successfully."),
        ("register Bob other@x 456", "Username is already used."),
        ("whoami", "Please login first."),
        ("logout", "Please login first."),
        ("login Bob", "Usage: login <username> <password>"),
        ("login Bob wrong", "Login failed."),
        ("login Nobody 123", "Login failed."),
        ("login bob 123", "Login failed."),
        ("login Bob 123", "Welcome, Bob."),
        ("login Bob 123", "Please logout first."),
        ("whoami", "Bob"),
        ("list-user", "Name  Email\nBob   bob@qwer.asdf"),
        ("hello world", "Unknown command: hello"),
        ("logout", "Bye, Bob."),
        ("whoami", "Please login first."),
    ] {
        assert_eq!(a.run(line), expected, "client> {line}");
    }
    for (line, expected) in [
        ("register Amy amy@x.y 1", "Register successfully."),
        ("list-user", "Name  Email\nBob   bob@qwer.asdf\nAmy   amy@x.y"),
        ("login Amy 1", "Welcome, Amy."),
        ("whoami", "Amy"),
        ("", ""),
        ("logout", "Bye, Amy."),
    ] {
        assert_eq!(b.run(line), expected, "telnet> {line}");
    }
    // `exit` prints nothing and the server closes the connection.
    let Person::Plain(mut b) = b else { unreachable!() };
    b.write_raw(b"exit\r\n");
    assert_eq!(b.read_to_close().unwrap(), b"");
}

#[test]
fn board_answers_of_spec_section_5() {
    let server = TestServer::start();
    let mut u = Person::client(&server);
    for (line, expected) in [
        ("create-board", "Usage: create-board <name>"),
        ("create-board x", "Please login first."),
        ("create-post b --title t", "Usage: create-post <board-name> --title <title> --content <content>"),
        ("create-post b --title t --content c", "Please login first."),
        ("list-board", "Index  Name  Moderator"),
        ("list-post", "Usage: list-post <board-name>"),
        ("list-post nope", "Board does not exist."),
        ("read", "Usage: read <post-S/N>"),
        ("read one", "Usage: read <post-S/N>"),
        ("read 1", "Post does not exist."),
        ("delete-post", "Usage: delete-post <post-S/N>"),
        ("delete-post 1", "Please login first."),
        ("update-post 1", "Usage: update-post <post-S/N> --title/content <new>"),
        ("update-post 1 --title x", "Please login first."),
        ("comment 1", "Usage: comment <post-S/N> <comment>"),
        ("comment 1 hi", "Please login first."),
        ("register u u@x p", "Register successfully."),
        ("login u p", "Welcome, u."),
        ("create-board 公告", "Create board successfully."),
        ("create-post 公告 --content 第一<br>二 --title 中文標題", "Create post successfully."),
        ("list-post 公告", "S/N  Title     Author  Date\n1    中文標題  u       MM/DD"),
        ("list-board", "Index  Name  Moderator\n1      公告  u"),
        ("read 1", "Author: u\nTitle: 中文標題\nDate: MM/DD\n--\n第一\n二\n--"),
        ("delete-post 1", "Delete successfully."),
        ("delete-post 1", "Post does not exist."),
        // Serial numbers are never reused, even for the newest post.
        ("create-post 公告 --title again --content c", "Create post successfully."),
        ("list-post 公告", "S/N  Title  Author  Date\n2    again  u       MM/DD"),
    ] {
        assert_eq!(u.run(line), expected.replace("MM/DD", &today()), "> {line}");
    }
}

#[test]
fn telnet_option_bytes_and_bare_line_feeds_are_understood() {
    let server = TestServer::start();
    let mut p = server.plain();
    // What a telnet client sends on connect, in the middle of a command,
    // then a command ended by a bare LF as nc sends it.
    p.write_raw(b"\xff\xfd\x03\xff\xfb\x18\xff\xfa\x18\x00xterm\xff\xf0regi\xff\xfb\x01ster t t@x p\r\n");
    assert_eq!(p.answer(), "Register successfully.");
    p.write_raw(b"login t p\n");
    assert_eq!(p.answer(), "Welcome, t.");
    p.write_raw(b"whoami\r\x00\n");
    assert_eq!(p.answer(), "t");
}
