//! The web door in a real browser: headless Chromium (installed by
//! `scripts/ensure-chromium.sh` when missing) driven over the DevTools
//! protocol by the small client below. The terminal page logs in, posts,
//! and shows a push the moment it is sent; the read-only pages show a
//! title full of markup as text. With `BBS_UPDATE_SCREENSHOT=1` the test
//! also saves the terminal's picture as docs/web-terminal.png.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use bbs_testkit::{TestServer, ANSWER_TIMEOUT};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// Chromium, ended when dropped.
struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts headless Chromium; returns it and its DevTools WebSocket address.
fn start_browser() -> (Browser, String) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/ensure-chromium.sh");
    let status = Command::new("sh").arg(&script).status().expect("run scripts/ensure-chromium.sh");
    assert!(status.success(), "Chromium is needed for this test");
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=900,520",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let stderr = child.stderr.take().unwrap();
    let (found, address) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(at) = line.find("ws://") {
                let _ = found.send(line[at..].trim().to_owned());
            }
        }
    });
    let browser = Browser { child, _profile: profile };
    let address = address.recv_timeout(ANSWER_TIMEOUT).expect("Chromium printed its DevTools address");
    (browser, address)
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A minimal DevTools protocol client: one page session.
struct DevTools {
    socket: Socket,
    next_id: u64,
    session: Option<String>,
}

impl DevTools {
    async fn connect(address: &str) -> DevTools {
        let (socket, _) = tokio_tungstenite::connect_async(address).await.expect("DevTools connection");
        DevTools { socket, next_id: 0, session: None }
    }

    /// Sends one command and returns its result (events are skipped).
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = &self.session {
            message["sessionId"] = json!(session);
        }
        self.socket.send(Message::Text(message.to_string().into())).await.unwrap();
        loop {
            let reply = tokio::time::timeout(ANSWER_TIMEOUT, self.socket.next()).await.expect("DevTools reply");
            let Some(Ok(Message::Text(text))) = reply else { continue };
            let reply: Value = serde_json::from_str(text.as_str()).unwrap();
            if reply["id"] == json!(id) {
                assert!(reply.get("error").is_none(), "{method}: {reply}");
                return reply["result"].clone();
            }
        }
    }

    async fn open_page(&mut self, url: &str) {
        let target = self.call("Target.createTarget", json!({ "url": url })).await;
        let attached =
            self.call("Target.attachToTarget", json!({ "targetId": target["targetId"], "flatten": true })).await;
        self.session = Some(attached["sessionId"].as_str().unwrap().to_owned());
    }

    async fn evaluate(&mut self, expression: &str) -> Value {
        let result = self.call("Runtime.evaluate", json!({ "expression": expression, "returnByValue": true })).await;
        result["result"]["value"].clone()
    }

    /// Polls `expression` until it gives `true`.
    async fn wait_until(&mut self, expression: &str, what: &str) {
        let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
        while self.evaluate(expression).await != json!(true) {
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Types as a person would: one key event per character.
    async fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            let key = if c == '\r' {
                json!({ "type": "keyDown", "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "text": "\r" })
            } else {
                json!({ "type": "keyDown", "key": c.to_string(), "text": c.to_string() })
            };
            self.call("Input.dispatchKeyEvent", key).await;
            let mut up = json!({ "type": "keyUp", "key": if c == '\r' { "Enter".to_owned() } else { c.to_string() } });
            if c == '\r' {
                up["windowsVirtualKeyCode"] = json!(13);
            }
            self.call("Input.dispatchKeyEvent", up).await;
        }
    }
}

/// The terminal's whole buffer as text, one line per row.
const SCREEN: &str = "(() => { const t = window.bbsTerminal; if (!t) return ''; const b = t.buffer.active; \
    const rows = []; for (let i = 0; i < b.length; i++) rows.push(b.getLine(i).translateToString(true)); \
    return rows.join('\\n'); })()";

fn screen_has(text: &str) -> String {
    format!("{SCREEN}.includes({})", json!(text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_terminal_posts_and_gets_pushes_and_pages_show_markup_as_text() {
    let server = TestServer::start_with_doors(bbs_server::Config::default());
    let base = format!("http://{}", server.http_addr.unwrap());
    let (_browser, address) = start_browser();
    let mut devtools = DevTools::connect(&address).await;
    devtools.open_page(&format!("{base}/")).await;

    devtools.wait_until(&screen_has("** Welcome to the BBS server. **"), "the banner").await;
    devtools.evaluate("window.bbsTerminal.focus()").await;
    devtools.type_text("register web web@example.org pw\r").await;
    devtools.wait_until(&screen_has("Register successfully."), "registration").await;
    devtools.type_text("login web pw\r").await;
    devtools.wait_until(&screen_has("Welcome, web."), "login").await;
    devtools.type_text("create-board lobby\r").await;
    devtools.wait_until(&screen_has("Create board successfully."), "the board").await;
    let title = "<script>alert(1)</script>";
    devtools.type_text(&format!("create-post lobby --title {title} --content Hello from a browser\r")).await;
    devtools.wait_until(&screen_has("Create post successfully."), "the post").await;
    devtools.type_text("list-post lobby\r").await;
    devtools.wait_until(&screen_has(title), "the post in the list").await;

    // A push arrives while the person is halfway through a line.
    devtools.type_text("who").await;
    devtools.wait_until(&screen_has("% who"), "the typed letters").await;
    let deadline = std::time::Instant::now() + ANSWER_TIMEOUT;
    while server.push("web", "Message from ann: welcome to the web door!") == 0 {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    devtools.wait_until(&screen_has("Message from ann: welcome to the web door!\n% who"), "the push").await;
    devtools.type_text("ami\r").await;
    devtools.wait_until(&screen_has("% whoami\nweb"), "whoami").await;

    let shot = devtools.call("Page.captureScreenshot", json!({ "format": "png" })).await;
    let png = base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap()).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG picture");
    if std::env::var_os("BBS_UPDATE_SCREENSHOT").is_some() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/web-terminal.png");
        std::fs::write(path, &png).unwrap();
    }

    // The read-only pages show the markup as text and run nothing.
    devtools.call("Page.navigate", json!({ "url": format!("{base}/boards/lobby") })).await;
    let link = format!(
        "document.querySelector('main a') && document.querySelector('main a').textContent === {}",
        json!(title)
    );
    devtools.wait_until(&link, "the board page").await;
    devtools.call("Page.navigate", json!({ "url": format!("{base}/posts/1") })).await;
    let heading =
        format!("document.querySelector('h1') && document.querySelector('h1').textContent === {}", json!(title));
    devtools.wait_until(&heading, "the post page").await;
    assert_eq!(devtools.evaluate("document.querySelectorAll('script').length").await, json!(0));
    assert_eq!(
        devtools.evaluate("document.querySelector('.content').textContent").await,
        json!("Hello from a browser")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_full_screen_logs_in_and_shows_the_board_list() {
    let server = TestServer::start_with_doors(bbs_server::Config::default());
    let mut plain = server.plain();
    assert_eq!(plain.send("register web web@example.org pw"), "Register successfully.");
    assert_eq!(plain.send("login web pw"), "Welcome, web.");
    for board in ["lobby", "看板", "NCTU"] {
        assert_eq!(plain.send(&format!("create-board {board}")), "Create board successfully.");
    }
    assert_eq!(plain.send("create-post lobby --title hello --content hi"), "Create post successfully.");
    let base = format!("http://{}", server.http_addr.unwrap());
    let (_browser, address) = start_browser();
    let mut devtools = DevTools::connect(&address).await;
    devtools.open_page(&format!("{base}/?ui=screen")).await;

    devtools.wait_until(&screen_has("Username:"), "the login screen").await;
    devtools.evaluate("window.bbsTerminal.focus()").await;
    devtools.type_text("web\rpw\r").await;
    devtools.wait_until(&screen_has("(B)oards"), "the main menu").await;
    devtools.type_text("b").await;
    devtools.wait_until(&screen_has("[Boards]"), "the board list").await;
    devtools.wait_until(&screen_has("看板"), "every board").await;
    // The screen fills the browser's terminal, not 80×24.
    let rows = devtools.evaluate("window.bbsTerminal.rows").await.as_u64().unwrap();
    let last =
        format!("window.bbsTerminal.buffer.active.getLine({}).translateToString(true).includes('h help')", rows - 1);
    devtools.wait_until(&last, "the status bar on the terminal's last row").await;

    let shot = devtools.call("Page.captureScreenshot", json!({ "format": "png" })).await;
    let png = base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap()).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG picture");
    if std::env::var_os("BBS_UPDATE_SCREENSHOT").is_some() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/web-screen.png");
        std::fs::write(path, &png).unwrap();
    }
}
