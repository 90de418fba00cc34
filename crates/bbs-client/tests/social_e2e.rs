//! Instant messages through the real `bbs` client, piped: the sender sees
//! nothing but its next prompt, the recipient sees the message at once, and
//! a message to an offline user is shown after the welcome line.

mod support;

use bbs_testkit::TestServer;
use support::{sign_in, Bbs};

#[test]
fn tell_through_the_real_client() {
    let server = TestServer::start();
    let mut ann = Bbs::start("ann", server.addr);
    let mut bob = Bbs::start("bob", server.addr);
    sign_in(&mut ann, "ann");
    sign_in(&mut bob, "bob");
    ann.send("tell bob  hello  there ");
    ann.expect_next("% ");
    bob.expect("ann told you: hello  there\n");
    bob.run("whoami", "bob\n% ");
    bob.run("logout", "Bye, bob.\n% ");
    ann.run("tell bob see you", "bob is not online; the message waits for the next login.\n% ");
    bob.run("login bob pw", "Welcome, bob.\nYou have 1 message(s) waiting:\nann told you: see you\n% ");
    ann.run("exit", "");
    bob.run("exit", "");
}
