//! The real `bbs` binary against the real server: piped input compared
//! with the whole expected screen, and a pseudo-terminal session for line
//! editing and history.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};

use bbs_protocol::{ClientFrame, Event, Reply, ServerFrame, BANNER, DIALECT_VERSION, PLAIN_GREETING};
use bbs_testkit::TestServer;

fn bbs(server: std::net::SocketAddr) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bbs"));
    command.arg(server.ip().to_string()).arg(server.port().to_string());
    command
}

/// Runs `bbs` with `input` piped in and returns what it printed.
fn run_piped(mut command: Command, input: &str) -> Output {
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start bbs");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("bbs output");
    writer.join().unwrap().expect("write stdin");
    output
}

/// `MM/DD` in local time, as the server prints post dates.
fn today() -> String {
    chrono::Local::now().format("%m/%d").to_string()
}

#[test]
fn piped_session_shows_exactly_the_spec_lines() {
    let server = TestServer::start();
    let big = "x".repeat(60_000);
    let tricky = "% <br>--<br>Welcome, x.<br>% whoami<br>";
    let input = format!(
        "register Bob bob@qwer.asdf 123\n\
         whoami\n\
         login Bob 123\n\
         \n\
         whoami\n\
         create-board 公告\n\
         create-post 公告 --title 提醒 --content {tricky}end\n\
         create-post 公告 --title big --content {big}\n\
         list-post 公告\n\
         read 1\n\
         comment 1 --<br>% \n\
         read 1\n\
         read 2\n\
         nonsense here\n\
         logout\n\
         exit\n\
         whoami\n"
    );
    let output = run_piped(bbs(server.addr), &input);
    assert!(output.status.success(), "{output:?}");
    let today = today();
    // The tricky post as `read` shows it: content lines that look like a
    // prompt, a separator and a server answer.
    let tricky_post = format!("Author: Bob\nTitle: 提醒\nDate: {today}\n--\n% \n--\nWelcome, x.\n% whoami\nend\n--");
    let expected = format!(
        "{BANNER}\n\
         % Register successfully.\n\
         % Please login first.\n\
         % Welcome, Bob.\n\
         % % Bob\n\
         % Create board successfully.\n\
         % Create post successfully.\n\
         % Create post successfully.\n\
         % S/N  Title  Author  Date\n\
         1    提醒   Bob     {today}\n\
         2    big    Bob     {today}\n\
         % {tricky_post}\n\
         % Comment successfully.\n\
         % {tricky_post}\n\
         Bob: --<br>%\n\
         % Author: Bob\n\
         Title: big\n\
         Date: {today}\n\
         --\n\
         {big}\n\
         --\n\
         % Unknown command: nonsense\n\
         % Bye, Bob.\n\
         % "
    );
    let shown = String::from_utf8(output.stdout).unwrap();
    assert!(shown == expected, "screen differs:\n{}", first_difference(&shown, &expected));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

/// Where two long screens part, for a readable failure.
fn first_difference(shown: &str, expected: &str) -> String {
    let at = shown.bytes().zip(expected.bytes()).take_while(|(a, b)| a == b).count();
    let from = at.saturating_sub(80);
    let cut = |s: &str| s.get(from..(at + 80).min(s.len())).unwrap_or("").to_owned();
    format!("at byte {at}\n shown: {:?}\nexpected: {:?}", cut(shown), cut(expected))
}

#[test]
fn end_of_input_leaves_like_exit() {
    let server = TestServer::start();
    let output = run_piped(bbs(server.addr), "register a a@x p\n");
    assert!(output.status.success());
    assert_eq!(String::from_utf8(output.stdout).unwrap(), format!("{BANNER}\n% Register successfully.\n% "));
}

#[test]
fn a_missing_server_is_a_clear_error() {
    // A port below the kernel's ephemeral range, so no server started by a
    // test running in parallel (they bind port 0) can be listening on it.
    let port = (10_000..20_000)
        .find(|port| TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .expect("a port nobody listens on");
    let output = run_piped(bbs(format!("127.0.0.1:{port}").parse().unwrap()), "");
    assert!(!output.status.success());
    assert_eq!(output.stdout, b"");
    let error = String::from_utf8(output.stderr).unwrap();
    assert!(error.starts_with(&format!("bbs: cannot connect to 127.0.0.1:{port}: ")), "{error}");
}

/// A server that speaks TCP but never answers UDP: `register` must give a
/// clear error after its retries, and the prompt must come back.
#[test]
fn unanswered_udp_is_reported_and_the_client_goes_on() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let fake = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut writer = stream.try_clone().unwrap();
        writer.write_all(PLAIN_GREETING.as_bytes()).unwrap();
        let mut lines = BufReader::new(stream).lines();
        lines.next().unwrap().unwrap(); // the client's hello
        let answer = |reply: Reply| ServerFrame::Answer(reply).to_line();
        writer.write_all(&answer(Reply::with_event("", Event::Hello { version: DIALECT_VERSION }))).unwrap();
        for line in lines.map_while(Result::ok) {
            let reply = match ClientFrame::from_line(line.as_bytes()).unwrap() {
                ClientFrame::Command(line) if line == "exit" => Reply::with_event("", Event::Goodbye),
                _ => Reply::text("tcp"),
            };
            writer.write_all(&answer(reply)).unwrap();
        }
    });
    let output = run_piped(bbs(addr), "register a a@x p\nlist-board\n");
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        format!("{BANNER}\n% Error: the server did not answer over UDP (5 attempts to {addr}).\n% tcp\n% ")
    );
    fake.join().unwrap();
}

#[test]
fn terminal_session_has_line_editing_and_history() {
    let server = TestServer::start();
    let mut p = rexpect::session::spawn_command(bbs(server.addr), Some(20_000)).expect("spawn bbs in a pty");
    p.exp_string("** Welcome to the BBS server. **").unwrap();
    p.exp_string("% ").unwrap();
    p.send_line("register ann ann@x pw").unwrap();
    p.exp_string("Register successfully.").unwrap();
    p.send_line("login ann pw").unwrap();
    p.exp_string("Welcome, ann.").unwrap();
    // Type "whoamx", erase the typo with backspace, finish the word.
    p.send("whoamx").unwrap();
    p.send("\x7f").unwrap();
    p.send_line("i").unwrap();
    p.exp_string("\nann").unwrap();
    // Arrow-up recalls the previous command.
    p.send("\x1b[A").unwrap();
    p.send_line("").unwrap();
    p.exp_string("\nann").unwrap();
    p.send_line("exit").unwrap();
    p.exp_eof().unwrap();
}
