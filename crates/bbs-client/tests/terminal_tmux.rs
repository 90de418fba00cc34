//! The real `bbs` on a real terminal: each client runs in tmux (80×24)
//! against the real server, keys are typed with `send-keys`, and whole
//! screens — every prompt, every typed line, every answer — are compared
//! as tmux shows them (times normalised to `[hh:mm]`).
//!
//! These catch what piped transcripts cannot: a prompt that a pending read
//! never shows (a member whose chatroom closed got no `% `), a half-typed
//! line garbled by an incoming message, keys that misbehave.
//!
//! tmux is installed by `scripts/ensure-tmux.sh` when missing.

mod support;

use bbs_protocol::BANNER;
use bbs_testkit::TestServer;
use support::tmux::Tmux;
use support::{free_port, CHAT_BANNER};

/// Starts `bbs` in a terminal and waits for its first prompt.
fn bbs(name: &str, server: &TestServer) -> Tmux {
    let (host, port) = (server.addr.ip().to_string(), server.addr.port().to_string());
    let terminal = Tmux::start(name, env!("CARGO_BIN_EXE_bbs"), &[&host, &port]);
    terminal.expect_screen(&format!("{BANNER}\n% \n"));
    terminal
}

/// Types `line` at the prompt and waits until the screen ends with
/// `answer` (which ends with the next prompt, or whatever comes).
fn run(terminal: &Tmux, line: &str, answer: &str) {
    terminal.line(line);
    terminal.wait_for_end(&format!("% {line}\n{answer}"));
}

/// Registers (a UDP command) and logs in `name`, password `pw`.
fn sign_in(terminal: &Tmux, name: &str) {
    run(terminal, &format!("register {name} {name}@example.org pw"), "Register successfully.\n% \n");
    run(terminal, &format!("login {name} pw"), &format!("Welcome, {name}.\n% \n"));
}

/// What [`sign_in`] leaves on the screen.
fn signed_in(name: &str) -> String {
    format!("{BANNER}\n% register {name} {name}@example.org pw\nRegister successfully.\n% login {name} pw\nWelcome, {name}.\n")
}

/// The owner creates a room on `port` and is inside it.
fn create_room(owner: &Tmux, port: u16) {
    run(owner, &format!("create-chatroom {port}"), &format!("start to create chatroom...\n{CHAT_BANNER}\n"));
}

/// A member joins `owner`'s room; waits for the banner (the room shows no
/// prompt inside).
fn join(member: &Tmux, owner: &str) {
    run(member, &format!("join-chatroom {owner}"), &format!("{CHAT_BANNER}\n"));
}

/// Brad's room on a free port with Bob inside, both clients in tmux.
/// Returns the server, the room's port, the owner and the member.
fn brad_and_bob_in_a_room() -> (TestServer, u16, Tmux, Tmux) {
    let server = TestServer::start();
    let port = free_port();
    let a = bbs("A", &server);
    let b = bbs("B", &server);
    sign_in(&a, "Brad");
    sign_in(&b, "Bob");
    create_room(&a, port);
    join(&b, "Brad");
    a.wait_for_end("sys[hh:mm] : Bob join us.\n");
    (server, port, a, b)
}

/// The cursor is (or comes, at once) right after the `% ` on the last
/// written row.
fn assert_cursor_after_prompt(terminal: &Tmux) {
    let rows = terminal.screen().lines().count();
    let last = u16::try_from(rows - 1).unwrap().min(support::tmux::ROWS - 1);
    terminal.wait_cursor((2, last));
}

#[test]
fn two_clients_chat_and_the_owner_closes_the_room() {
    let server = TestServer::start();
    let port = free_port();
    let a = bbs("A", &server);
    let b = bbs("B", &server);
    sign_in(&a, "Brad");
    sign_in(&b, "Bob");
    create_room(&a, port);
    run(&b, "list-chatroom", "Chatroom_name  Status\nBrad           open\n% \n");
    join(&b, "Brad");
    a.wait_for_end("sys[hh:mm] : Bob join us.\n");

    a.line("hello Bob.");
    b.wait_for_end("Brad[hh:mm] : hello Bob.\n");
    b.line("hello Brad.");
    a.wait_for_end("Bob[hh:mm] : hello Brad.\n");
    a.line("Nice to meet you.");
    b.wait_for_end("Brad[hh:mm] : Nice to meet you.\n");

    a.line("leave-chatroom");
    a.wait_for_end("leave-chatroom\nWelcome back to BBS.\n% \n");
    // The member is back at the BBS prompt, and it works at once.
    b.wait_for_end("sys[hh:mm] : the chatroom is close.\nWelcome back to BBS.\n% \n");
    assert_cursor_after_prompt(&b);
    run(&b, "whoami", "Bob\n% \n");
    run(&a, "whoami", "Brad\n% \n");

    a.expect_screen(&format!(
        "{}% create-chatroom {port}\n\
         start to create chatroom...\n\
         {CHAT_BANNER}\n\
         sys[hh:mm] : Bob join us.\n\
         hello Bob.\n\
         Bob[hh:mm] : hello Brad.\n\
         Nice to meet you.\n\
         leave-chatroom\n\
         Welcome back to BBS.\n\
         % whoami\n\
         Brad\n\
         % \n",
        signed_in("Brad")
    ));
    b.expect_screen(&format!(
        "{}% list-chatroom\n\
         Chatroom_name  Status\n\
         Brad           open\n\
         % join-chatroom Brad\n\
         {CHAT_BANNER}\n\
         Brad[hh:mm] : hello Bob.\n\
         hello Brad.\n\
         Brad[hh:mm] : Nice to meet you.\n\
         sys[hh:mm] : the chatroom is close.\n\
         Welcome back to BBS.\n\
         % whoami\n\
         Bob\n\
         % \n",
        signed_in("Bob")
    ));
    assert_cursor_after_prompt(&a);
    assert_cursor_after_prompt(&b);
}

#[test]
fn three_members_get_the_prompt_back_when_the_owner_closes_the_room() {
    let server = TestServer::start();
    let port = free_port();
    let owner = bbs("owner", &server);
    sign_in(&owner, "Olga");
    create_room(&owner, port);
    let names = ["Mia", "Max", "Meg"];
    let members: Vec<Tmux> = names.iter().map(|name| bbs(name, &server)).collect();
    for (i, member) in members.iter().enumerate() {
        sign_in(member, names[i]);
        join(member, "Olga");
        // Everyone already inside sees the newcomer before the next one
        // comes, so every screen has one order.
        let joined = format!("sys[hh:mm] : {} join us.\n", names[i]);
        owner.wait_for_end(&joined);
        for earlier in &members[..i] {
            earlier.wait_for_end(&joined);
        }
    }

    owner.line("leave-chatroom");
    owner.wait_for_end("leave-chatroom\nWelcome back to BBS.\n% \n");
    for (i, member) in members.iter().enumerate() {
        let name = names[i];
        member.wait_for_end("sys[hh:mm] : the chatroom is close.\nWelcome back to BBS.\n% \n");
        assert_cursor_after_prompt(member);
        run(member, "whoami", &format!("{name}\n% \n"));
        let later_joins: String =
            names[i + 1..].iter().map(|later| format!("sys[hh:mm] : {later} join us.\n")).collect();
        member.expect_screen(&format!(
            "{}% join-chatroom Olga\n\
             {CHAT_BANNER}\n\
             {later_joins}\
             sys[hh:mm] : the chatroom is close.\n\
             Welcome back to BBS.\n\
             % whoami\n\
             {name}\n\
             % \n",
            signed_in(name)
        ));
    }
    let joins: String = names.iter().map(|name| format!("sys[hh:mm] : {name} join us.\n")).collect();
    owner.expect_screen(&format!(
        "{}% create-chatroom {port}\n\
         start to create chatroom...\n\
         {CHAT_BANNER}\n\
         {joins}\
         leave-chatroom\n\
         Welcome back to BBS.\n\
         % \n",
        signed_in("Olga")
    ));
}

#[test]
fn a_member_gets_the_prompt_back_when_the_owners_client_dies() {
    let (_server, _port, a, b) = brad_and_bob_in_a_room();

    nix::sys::signal::kill(nix::unistd::Pid::from_raw(a.pid()), nix::sys::signal::Signal::SIGKILL).unwrap();
    b.wait_for_end("sys[hh:mm] : the chatroom is close.\nWelcome back to BBS.\n% \n");
    assert_cursor_after_prompt(&b);
    run(&b, "whoami", "Bob\n% \n");
    b.expect_screen(&format!(
        "{}% join-chatroom Brad\n\
         {CHAT_BANNER}\n\
         sys[hh:mm] : the chatroom is close.\n\
         Welcome back to BBS.\n\
         % whoami\n\
         Bob\n\
         % \n",
        signed_in("Bob")
    ));
}

#[test]
fn a_message_arriving_mid_line_is_printed_above_the_half_typed_line() {
    let (_server, port, a, b) = brad_and_bob_in_a_room();

    // Half a line with wide characters, edited: "半分 of a lin" after
    // erasing a typo and inserting a word in the middle.
    b.type_text("半分 a linx");
    b.keys(&["BSpace"]);
    b.keys(&["Left", "Left", "Left", "Left", "Left"]);
    b.type_text("of ");
    b.keys(&["End"]);
    b.wait_for_end(&format!("{CHAT_BANNER}\n半分 of a lin\n"));
    // "半分" is four columns wide; the cursor is at the end of the line.
    let row = u16::try_from(b.screen().lines().count() - 1).unwrap();
    let column = 4 + " of a lin".len() as u16;
    b.wait_cursor((column, row));

    a.line("news from Brad");
    b.wait_for_end("Brad[hh:mm] : news from Brad\n半分 of a lin\n");
    // The cursor follows the redrawn line.
    b.wait_cursor((column, row + 1));

    b.type_text("e");
    b.keys(&["Enter"]);
    a.wait_for_end("Bob[hh:mm] : 半分 of a line\n");
    b.line("leave-chatroom");
    b.wait_for_end("Welcome back to BBS.\n% \n");
    a.wait_for_end("sys[hh:mm] : Bob leave us.\n");

    b.expect_screen(&format!(
        "{}% join-chatroom Brad\n\
         {CHAT_BANNER}\n\
         Brad[hh:mm] : news from Brad\n\
         半分 of a line\n\
         leave-chatroom\n\
         Welcome back to BBS.\n\
         % \n",
        signed_in("Bob")
    ));
    a.expect_screen(&format!(
        "{}% create-chatroom {port}\n\
         start to create chatroom...\n\
         {CHAT_BANNER}\n\
         sys[hh:mm] : Bob join us.\n\
         news from Brad\n\
         Bob[hh:mm] : 半分 of a line\n\
         sys[hh:mm] : Bob leave us.\n",
        signed_in("Brad")
    ));
}

#[test]
fn ctrl_c_clears_the_line_and_ctrl_d_exits_like_exit() {
    let server = TestServer::start();
    let t = bbs("T", &server);
    sign_in(&t, "Tom");

    t.type_text("list-board with a typo");
    t.wait_for_end("% list-board with a typo\n");
    t.keys(&["C-c"]);
    t.wait_for_end("Welcome, Tom.\n% \n");
    assert_cursor_after_prompt(&t);
    run(&t, "whoami", "Tom\n% \n");

    t.keys(&["C-d"]);
    t.wait_ended();
    // A failure status or a signal fails; tmux now and then records no
    // status at all (see `exit_status`), and then the screen below is the
    // evidence that the client ended as `exit` does.
    assert!(matches!(t.exit_status(), Some(0) | None), "Ctrl-D ended the client with a failure");
    // `exit` prints nothing: the last prompt stays, the Ctrl-D is not shown.
    t.expect_screen(&format!("{}% whoami\nTom\n% \n", signed_in("Tom")));
}

#[test]
fn history_and_editing_keys_at_the_prompt() {
    let server = TestServer::start();
    let t = bbs("T", &server);
    sign_in(&t, "Ann");
    run(&t, "whoami", "Ann\n% \n");
    // Arrow-up twice: back past `whoami` to `login Ann pw`; down once:
    // `whoami` again; Enter runs it.
    t.keys(&["Up", "Up"]);
    t.wait_for_end("% login Ann pw\n");
    t.keys(&["Down"]);
    t.wait_for_end("Ann\n% whoami\n");
    t.keys(&["Enter"]);
    t.wait_for_end("% whoami\nAnn\n% whoami\nAnn\n% \n");
    // Home/End, Left/Right, Backspace and Delete.
    t.type_text("hoamX");
    t.keys(&["Home"]);
    t.type_text("w");
    t.keys(&["End", "BSpace", "Left", "Left"]);
    t.type_text("Q");
    t.keys(&["Right", "DC"]);
    t.type_text("mi");
    // "whoQam", its "m" deleted and "mi" typed: "whoQami".
    t.wait_for_end("% whoQami\n");
    t.keys(&["Home", "Right", "Right", "Right", "DC", "Enter"]);
    t.wait_for_end("% whoami\nAnn\n% \n");
    assert_cursor_after_prompt(&t);
}

#[test]
fn a_half_typed_line_longer_than_a_row_survives_messages() {
    let (_server, port, a, b) = brad_and_bob_in_a_room();

    // 79 columns and a wide character: it does not fit in the last column
    // and goes to the next row whole.
    let long = format!("{}中文", "x".repeat(79));
    b.type_text(&long);
    b.wait_for_end(&format!("{}\n中文\n", "x".repeat(79)));
    a.line("first");
    b.wait_for_end(&format!("Brad[hh:mm] : first\n{}\n中文\n", "x".repeat(79)));
    // Exactly a row: the cursor waits at the start of the next one.
    let full = "y".repeat(80);
    a.type_text(&full);
    a.wait_for_end(&format!("{full}\n"));
    let row = u16::try_from(a.screen().lines().count()).unwrap();
    a.wait_cursor((0, row));
    // Inserting before the wide characters fills the first row exactly.
    b.keys(&["Left", "Left"]);
    b.type_text("<");
    b.wait_for_end(&format!("{}<\n中文\n", "x".repeat(79)));
    b.keys(&["End"]);
    b.line("!");
    // The message itself is wider than a row too: "Bob[hh:mm] : " and
    // 67 x fill the first row.
    let bob_said = format!("Bob[hh:mm] : {}\n{}<中文!\n", "x".repeat(67), "x".repeat(12));
    a.wait_for_end(&format!("{bob_said}{full}\n"));
    a.keys(&["BSpace"]);
    a.wait_for_end(&format!("{bob_said}{}\n", "y".repeat(79)));
    a.keys(&["Enter"]);
    let brad_said = format!("Brad[hh:mm] : {}\n{}\n", "y".repeat(66), "y".repeat(13));
    b.wait_for_end(&brad_said);

    b.expect_screen(&format!(
        "{}% join-chatroom Brad\n\
         {CHAT_BANNER}\n\
         Brad[hh:mm] : first\n\
         {x}<\n\
         中文!\n\
         {brad_said}",
        signed_in("Bob"),
        x = "x".repeat(79),
    ));
    a.expect_screen(&format!(
        "{}% create-chatroom {port}\n\
         start to create chatroom...\n\
         {CHAT_BANNER}\n\
         sys[hh:mm] : Bob join us.\n\
         first\n\
         {bob_said}\
         {y}\n",
        signed_in("Brad"),
        y = "y".repeat(79),
    ));
}

#[test]
fn a_push_at_an_idle_prompt_shows_at_once_and_the_prompt_comes_back() {
    let server = TestServer::start();
    let ann = bbs("push-idle", &server);
    sign_in(&ann, "ann");
    ann.wait_for_end("% \n");
    assert_eq!(server.push("ann", "bob says: hello"), 1);
    // Printed in place of the empty prompt line, which is drawn again below.
    ann.expect_screen(&format!("{}bob says: hello\n% \n", signed_in("ann")));
    assert_cursor_after_prompt(&ann);
    // The prompt is live: a command typed now is answered.
    run(&ann, "whoami", "ann\n% \n");
}

#[test]
fn a_push_keeps_a_half_typed_line_intact() {
    let server = TestServer::start();
    let ann = bbs("push-half", &server);
    sign_in(&ann, "ann");
    ann.type_text("list-bo");
    ann.wait_for_end("% list-bo\n");
    assert_eq!(server.push("ann", "a notice\nin two lines"), 1);
    ann.expect_screen(&format!("{}a notice\nin two lines\n% list-bo\n", signed_in("ann")));
    ann.line("ard");
    ann.wait_for_end("% list-board\nIndex  Name  Moderator\n% \n");
}

#[test]
fn the_server_closing_the_connection_shows_at_an_idle_prompt() {
    let server = TestServer::start_with(bbs_server::Config {
        idle_timeout_anonymous: std::time::Duration::from_millis(1500),
        ..bbs_server::Config::default()
    });
    let ann = bbs("push-closing", &server);
    ann.wait_for_end("Idle for too long: closing the connection.\n");
    ann.wait_ended();
}
