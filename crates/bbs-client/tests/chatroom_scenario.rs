//! Spec §8, the worked chatroom scenario, with two real `bbs` processes:
//! every screen must come out exactly, line for line (times normalised).

mod support;

use bbs_testkit::TestServer;
use support::{free_port, Bbs};

#[test]
fn spec_section_8_comes_out_exactly_on_both_screens() {
    let server = TestServer::start();
    let port = free_port();
    let mut a = Bbs::start("A", server.addr);
    let mut b = Bbs::start("B", server.addr);

    a.run("register Brad bb@cs.nctu.edu.tw 123", "Register successfully.\n% ");
    b.run("register Bob bob@cs.nctu.edu.tw 123", "Register successfully.\n% ");
    a.run("login Brad 123", "Welcome, Brad.\n% ");
    b.run("login Bob 123", "Welcome, Bob.\n% ");
    a.run(&format!("create-chatroom {port}"), "start to create chatroom...\n*****************************\n** Welcome to the chatroom **\n*****************************\n");
    b.run("list-chatroom", "Chatroom_name  Status\nBrad           open\n% ");
    b.run("join-chatroom Brad", "** Welcome to the chatroom **\n*****************************\n");
    a.expect("sys[hh:mm] : Bob join us.\n");
    a.send("hello Bob.");
    b.expect("Brad[hh:mm] : hello Bob.\n");
    b.send("hello Brad.");
    a.expect("Bob[hh:mm] : hello Brad.\n");
    a.send("Nice to meet you.");
    b.expect("Brad[hh:mm] : Nice to meet you.\n");
    b.send("me too.");
    a.expect("Bob[hh:mm] : me too.\n");
    b.run("leave-chatroom", "Welcome back to BBS.\n% ");
    a.expect("sys[hh:mm] : Bob leave us.\n");
    b.run("whoami", "Bob\n% ");
    b.run("join-chatroom Brad", "Bob[hh:mm] : me too.\n");
    a.expect("sys[hh:mm] : Bob join us.\n");

    a.run("detach", "Welcome back to BBS.\n% ");
    a.run(&format!("create-chatroom {port}"), "User has already created the chatroom.\n% ");
    a.run("restart-chatroom", "Your chatroom is still running.\n% ");
    a.run("logout", "Please do \"attach\" and \"leave-chatroom\" first.\n% ");
    b.send("hello everyone.");
    // A is detached and sees nothing; the host's log says when it has the
    // record (kept=5), so attach is not racing the message.
    a.expect_log("sender=Bob kept=5");
    a.run("attach", "Bob[hh:mm] : hello everyone.\n");
    a.run("leave-chatroom", "Welcome back to BBS.\n% ");
    b.expect("sys[hh:mm] : the chatroom is close.\nWelcome back to BBS.\n% ");
    b.run("list-chatroom", "Chatroom_name  Status\nBrad           close\n% ");
    a.run("restart-chatroom", "Bob[hh:mm] : hello everyone.\n");
    a.run("leave-chatroom", "Welcome back to BBS.\n% ");
    a.run("logout", "Bye, Brad.\n% ");
    b.run("restart-chatroom", "Please create-chatroom first.\n% ");
    a.run("restart-chatroom", "Please login first.\n% ");
    a.send("exit");
    let (status, a_screen) = a.wait();
    assert!(status.success(), "{status}");
    let (_, b_screen) = b.finish();

    let banner = "********************************\n** Welcome to the BBS server. **\n********************************";
    let chat = "*****************************\n** Welcome to the chatroom **\n*****************************";
    let expected_a = format!(
        "{banner}
% Register successfully.
% Welcome, Brad.
% start to create chatroom...
{chat}
sys[hh:mm] : Bob join us.
Bob[hh:mm] : hello Brad.
Bob[hh:mm] : me too.
sys[hh:mm] : Bob leave us.
sys[hh:mm] : Bob join us.
Welcome back to BBS.
% User has already created the chatroom.
% Your chatroom is still running.
% Please do \"attach\" and \"leave-chatroom\" first.
% {chat}
Brad[hh:mm] : Nice to meet you.
Bob[hh:mm] : me too.
Bob[hh:mm] : hello everyone.
Welcome back to BBS.
% start to create chatroom...
{chat}
Brad[hh:mm] : Nice to meet you.
Bob[hh:mm] : me too.
Bob[hh:mm] : hello everyone.
Welcome back to BBS.
% Bye, Brad.
% Please login first.
% "
    );
    let expected_b = format!(
        "{banner}
% Register successfully.
% Welcome, Bob.
% Chatroom_name  Status
Brad           open
% {chat}
Brad[hh:mm] : hello Bob.
Brad[hh:mm] : Nice to meet you.
Welcome back to BBS.
% Bob
% {chat}
Bob[hh:mm] : hello Brad.
Brad[hh:mm] : Nice to meet you.
Bob[hh:mm] : me too.
sys[hh:mm] : the chatroom is close.
Welcome back to BBS.
% Chatroom_name  Status
Brad           close
% Please create-chatroom first.
% "
    );
    assert_eq!(a_screen, expected_a, "A's screen");
    assert_eq!(b_screen, expected_b, "B's screen");
}
