//! On a real terminal (a pseudo-terminal here), a chat line arriving while
//! the owner is typing is printed above the line being edited, which is
//! then redrawn intact; no prompt is shown inside the room. (rustyline
//! before 19 stalled on input that arrived in one read while an external
//! printer existed; this test caught it.)

mod support;

use std::fs::File;
use std::io::Write;
use std::process::{Command, Stdio};

use bbs_testkit::TestServer;
use support::{free_port, sign_in, Bbs, CHAT_BANNER};

#[test]
fn incoming_lines_do_not_corrupt_the_line_being_typed() {
    let server = TestServer::start();
    let size = nix::pty::Winsize { ws_row: 40, ws_col: 200, ws_xpixel: 0, ws_ypixel: 0 };
    let pty = nix::pty::openpty(Some(&size), None).expect("a pseudo-terminal");
    let slave = File::from(pty.slave);
    // setsid -c: a session of its own with the pty as controlling
    // terminal, as a login shell would give it.
    let child = Command::new("setsid")
        .arg("-c")
        .arg(env!("CARGO_BIN_EXE_bbs"))
        .arg(server.addr.ip().to_string())
        .arg(server.addr.port().to_string())
        .env("TERM", "xterm")
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::null())
        .spawn()
        .expect("start bbs on the terminal");
    let mut child = KillOnDrop(child);
    drop(slave);
    let mut keyboard = File::from(pty.master);
    let mut screen = support::Screen::new(keyboard.try_clone().unwrap());
    let mut typ = |text: &str| {
        keyboard.write_all(text.as_bytes()).unwrap();
        keyboard.flush().unwrap();
    };

    screen.expect("% ");
    // Two lines at once (a paste, or a fast link): both are read.
    typ("register Brad b@example.org pw\rlogin Brad pw\r");
    screen.expect("Register successfully.");
    screen.expect("Welcome, Brad.");
    let port = free_port();
    typ(&format!("create-chatroom {port}\r"));
    screen.expect(&CHAT_BANNER.replace('\n', "\r\n"));

    let mut b = Bbs::start("B", server.addr);
    sign_in(&mut b, "Bob");
    b.run("join-chatroom Brad", &format!("{CHAT_BANNER}\n"));
    screen.expect("sys[hh:mm] : Bob join us.");

    typ("half typ");
    screen.expect("half typ");
    let typed_at = screen.position();
    b.send("message while Brad types");
    screen.expect("Bob[hh:mm] : message while Brad types\r\n");
    // Redrawn after the message, intact.
    screen.expect("half typ");
    let shown = screen.since(typed_at);
    let message_at = shown.find("Bob[hh:mm]").unwrap();
    assert!(
        shown[..message_at].ends_with("\x1b[K"),
        "the half-typed line is cleared before the message is printed: {shown:?}"
    );
    assert!(!shown.contains("% "), "no prompt inside the room: {shown:?}");

    typ("ed line\r");
    b.expect("Brad[hh:mm] : half typed line\n");
    typ("leave-chatroom\r");
    screen.expect("Welcome back to BBS.");
    b.expect("sys[hh:mm] : the chatroom is close.\nWelcome back to BBS.\n% ");
    typ("exit\r");
    assert!(child.0.wait().unwrap().success());
}

/// The terminal's process must not outlive a failed test.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
