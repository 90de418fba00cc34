//! The SSH door with the system's OpenSSH client and its default
//! algorithms: a person without an account comes in as `new`, registers,
//! logs in and registers a key, non-interactively (`ssh -tt … line` with
//! piped input); then that key logs in directly. OpenSSH is installed by
//! `scripts/ensure-openssh.sh` when missing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use bbs_testkit::TestServer;

fn ensure_openssh() {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/ensure-openssh.sh");
    let status = Command::new("sh").arg(&script).status().expect("run scripts/ensure-openssh.sh");
    assert!(status.success(), "OpenSSH's client is needed for this test");
}

/// Runs `ssh -tt` as `user` with `input` piped in; returns what it printed.
fn ssh(server: &TestServer, user: &str, identity: Option<&Path>, input: &str) -> String {
    let port = server.ssh_addr.expect("SSH door").port().to_string();
    let mut command = Command::new("ssh");
    command.args(["-F", "/dev/null", "-tt", "-p", &port]).args([
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "ConnectTimeout=10",
    ]);
    if let Some(identity) = identity {
        command.arg("-i").arg(identity).args(["-o", "IdentitiesOnly=yes"]);
    }
    let mut child = command
        .arg(format!("{user}@127.0.0.1"))
        // The line interface (a pty alone opens the full screen).
        .arg("line")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ssh");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write to ssh");
    let output = child.wait_with_output().expect("ssh ends");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "ssh failed: {stdout:?} {:?}", String::from_utf8_lossy(&output.stderr));
    stdout
}

#[test]
fn openssh_registers_logs_in_and_then_logs_in_with_its_key() {
    ensure_openssh();
    let server = TestServer::start_with_doors(bbs_server::Config::default());
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_ed25519");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "test key", "-f"])
        .arg(&key)
        .status()
        .expect("run ssh-keygen");
    assert!(status.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();

    let first = ssh(
        &server,
        "new",
        None,
        &format!("register dan dan@example.org pw\nlogin dan pw\nadd-key {}\nwhoami\nexit\n", public.trim()),
    );
    for answer in ["Register successfully.", "Welcome, dan.", "Add key successfully.", "\r\ndan\r\n"] {
        assert!(first.contains(answer), "{answer:?} missing from {first:?}");
    }

    let second = ssh(&server, "dan", Some(&key), "whoami\nlist-key\nexit\n");
    assert!(second.contains("Welcome, dan.\r\n"), "{second:?}");
    assert!(second.contains("% whoami\r\ndan\r\n"), "{second:?}");
    assert!(second.contains("test key"), "{second:?}");
}
