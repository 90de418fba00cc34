//! The course behaviour (spec §4, §5, §9) against the real server over real
//! sockets: once in the `bbs` client's dialect (with UDP for `register` and
//! `whoami`, as the client does), once as a telnet user would type it.

mod support;

use bbs_testkit::TestServer;
use support::section9::{play, today, Person};

#[test]
fn four_clients_of_the_bbs_client_play_spec_section_9() {
    let server = TestServer::start();
    let mut people: Vec<Person> = (0..4).map(|_| Person::client(server.addr)).collect();
    play(&mut people);
}

#[test]
fn four_telnet_users_play_spec_section_9() {
    let server = TestServer::start();
    let mut people: Vec<Person> = (0..4).map(|_| Person::plain(server.addr)).collect();
    play(&mut people);
}

#[test]
fn account_answers_of_spec_section_4() {
    let server = TestServer::start();
    let mut a = Person::client(server.addr);
    let mut b = Person::plain(server.addr);
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
    let mut u = Person::client(server.addr);
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
