//! Issue 5, durability: many connections writing at once never deadlock or
//! fail. (That an acknowledged write survives SIGKILL of the real `bbsd` is
//! in durability.rs; scripts/crash-test.sh does it 20 times under load.)

use bbs_server::{Config, Rate};
use bbs_testkit::{PlainClient, TestServer};

#[test]
fn concurrent_writers_on_shared_posts_all_get_clear_answers() {
    let server = TestServer::start_with(Config {
        login_rate_per_ip: Rate::new(1000, std::time::Duration::from_secs(1)),
        ..Config::default()
    });
    let mut setup = server.plain();
    assert_eq!(setup.send("register owner o@x pw"), "Register successfully.");
    assert_eq!(setup.send("login owner pw"), "Welcome, owner.");
    assert_eq!(setup.send("create-board b"), "Create board successfully.");
    for i in 0..10 {
        assert_eq!(setup.send(&format!("create-post b --title shared{i} --content c")), "Create post successfully.");
    }
    let writers: Vec<_> = (0..12)
        .map(|w| {
            let addr = server.addr;
            std::thread::spawn(move || {
                let mut p = PlainClient::connect(addr);
                assert_eq!(p.send(&format!("register w{w} w@x pw")), "Register successfully.");
                assert_eq!(p.send(&format!("login w{w} pw")), format!("Welcome, w{w}."));
                let mut mine = 0;
                for i in 0..40 {
                    // Writes that touch the same rows from every connection.
                    let shared = 1 + (i % 10);
                    assert_eq!(p.send(&format!("comment {shared} from w{w} #{i}")), "Comment successfully.");
                    assert_eq!(p.send(&format!("update-post {shared} --title stolen")), "Not the post owner.");
                    assert_eq!(
                        p.send(&format!("create-post b --title w{w}-{i} --content x")),
                        "Create post successfully."
                    );
                    mine += 1;
                }
                mine
            })
        })
        .collect();
    let created: usize = writers.into_iter().map(|w| w.join().expect("a writer failed")).sum();
    let list = setup.send("list-post b");
    assert_eq!(list.lines().count(), 1 + 10 + created);
    let read = setup.send("read 1");
    assert_eq!(read.lines().filter(|l| l.contains(": from w")).count(), 12 * 4);
}
