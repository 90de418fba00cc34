use bbs_testkit::TestServer;

#[test]
fn plain_register_login_whoami() {
    let server = TestServer::start();
    let mut p = server.plain();
    assert_eq!(p.send("register a a@x p"), "Register successfully.");
    assert_eq!(p.send("login a p"), "Welcome, a.");
    assert_eq!(p.send("whoami"), "a");
}
