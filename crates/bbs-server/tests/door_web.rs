//! The web door over real sockets: the WebSocket terminal (answers, live
//! pushes, the Origin check, the shared connection limit), the read-only
//! pages and their escaping, the JSON API, and `/metrics` moving with
//! traffic.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bbs_server::Config;
use bbs_testkit::{TestServer, ANSWER_TIMEOUT};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// One HTTP/1.1 GET; returns the status, the headers (lowercased names)
/// and the body.
fn get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(ANSWER_TIMEOUT)).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a response");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), body.to_owned())
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open_terminal(addr: SocketAddr, origin: Option<&str>) -> Result<Socket, String> {
    let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
    if let Some(origin) = origin {
        request.headers_mut().insert("origin", origin.parse().unwrap());
    }
    tokio_tungstenite::connect_async(request).await.map(|(socket, _)| socket).map_err(|e| e.to_string())
}

/// Reads terminal output until `text` shows up; returns all of it.
async fn wait_for(socket: &mut Socket, screen: &mut String, text: &str) {
    let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
    while !screen.contains(text) {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Ok(Some(Ok(Message::Binary(bytes)))) => screen.push_str(&String::from_utf8_lossy(&bytes)),
            Ok(Some(Ok(_))) => {}
            other => panic!("no {text:?} ({other:?}); screen: {screen:?}"),
        }
    }
}

async fn type_keys(socket: &mut Socket, keys: &str) {
    socket.send(Message::Binary(keys.as_bytes().to_vec().into())).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_websocket_terminal_answers_and_gets_live_pushes() {
    let server = TestServer::start_with_doors(Config::default());
    let http = server.http_addr.unwrap();
    let mut socket = open_terminal(http, Some(&format!("http://{http}"))).await.expect("same origin");
    let mut screen = String::new();
    wait_for(&mut socket, &mut screen, "*****\r\n% ").await;
    socket.send(Message::Text(r#"{"columns":100}"#.into())).await.unwrap();
    type_keys(&mut socket, "register eve eve@example.org pw\rlogin eve pw\r").await;
    wait_for(&mut socket, &mut screen, "Welcome, eve.\r\n% ").await;
    type_keys(&mut socket, "creat").await;
    wait_for(&mut socket, &mut screen, "% creat").await;
    let deadline = std::time::Instant::now() + ANSWER_TIMEOUT;
    while server.push("eve", "Message from bob: hi eve") == 0 {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    wait_for(&mut socket, &mut screen, "\r\x1b[KMessage from bob: hi eve\r\n% creat").await;
    type_keys(&mut socket, "e-chatroom 7000\r").await;
    wait_for(&mut socket, &mut screen, "create-chatroom needs the bbs client").await;
    type_keys(&mut socket, "exit\r").await;
    loop {
        match tokio::time::timeout(ANSWER_TIMEOUT, socket.next()).await.expect("closes") {
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
            Some(Ok(_)) => {}
        }
    }
    assert_eq!(server.sessions.online("eve"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websockets_from_other_sites_and_over_the_limit_are_refused() {
    let server = TestServer::start_with_doors(Config { max_connections_per_ip: 1, ..Config::default() });
    let http = server.http_addr.unwrap();
    let refused = open_terminal(http, Some("http://evil.example")).await.unwrap_err();
    assert!(refused.contains("403"), "{refused}");
    let _held = server.plain();
    let refused = open_terminal(http, None).await.unwrap_err();
    assert!(refused.contains("503"), "the TCP session holds the address's one slot: {refused}");
}

#[test]
fn pages_and_the_api_show_posts_with_everything_escaped() {
    let server = TestServer::start_with_doors(Config::default());
    let http = server.http_addr.unwrap();
    let mut plain = server.plain();
    plain.send("register mal mal@example.org pw");
    plain.send("login mal pw");
    assert_eq!(plain.send("create-board <b>&co"), "Create board successfully.");
    let title = "<script>alert(1)</script>";
    let created = plain.send(&format!("create-post <b>&co --title {title} --content <img src=x onerror=alert(2)>"));
    assert_eq!(created, "Create post successfully.");
    plain.send("comment 1 \"quoted\" <i>");

    let (status, head, boards) = get(http, "/boards");
    assert_eq!(status, 200);
    assert!(head.contains("content-security-policy: default-src 'none'"), "{head}");
    assert!(boards.contains("<a href=\"/boards/%3Cb%3E%26co\">&lt;b&gt;&amp;co</a>"), "{boards}");
    let (status, _, board) = get(http, "/boards/%3Cb%3E%26co");
    assert_eq!(status, 200);
    assert!(board.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{board}");
    assert!(!board.contains("<script>"), "{board}");
    let (status, _, post) = get(http, "/posts/1");
    assert_eq!(status, 200);
    assert!(post.contains("&lt;img src=x onerror=alert(2)&gt;"), "{post}");
    assert!(post.contains("&quot;quoted&quot; &lt;i&gt;"), "{post}");
    assert!(!post.contains("<img") && !post.contains("<script>") && !post.contains("<i>"), "{post}");
    assert_eq!(get(http, "/posts/2").0, 404);
    assert_eq!(get(http, "/posts/+1").0, 404);
    assert_eq!(get(http, "/boards/nope").0, 404);

    let (_, head, json) = get(http, "/api/boards/%3Cb%3E%26co/posts");
    assert!(head.contains("content-type: application/json"));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["posts"][0]["title"], title);
    let (_, _, json) = get(http, "/api/posts/1");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["content"], "<img src=x onerror=alert(2)>");
    assert_eq!(json["comments"][0]["author"], "mal");
    let (_, _, json) = get(http, "/api/boards");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["boards"][0]["moderator"], "mal");
    assert_eq!(get(http, "/api/posts/9").0, 404);

    // Search as JSON: the same index and limits as the `search` command.
    let (status, _, json) = get(http, "/api/search?q=ALERT");
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["posts"][0]["id"], 1);
    assert_eq!(json["posts"][0]["title"], title);
    let (_, _, json) = get(http, "/api/search?q=alert%20nowhere");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&json).unwrap()["posts"], serde_json::json!([]));
    assert_eq!(get(http, "/api/search").0, 400);
    assert_eq!(get(http, "/api/search?q=a%20b%20c%20d%20e%20f%20g%20h%20i%20j%20k").0, 400);
}

/// The value of one sample line of the Prometheus text, 0 if absent.
fn sample(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

#[test]
fn metrics_move_with_traffic() {
    let server = TestServer::start_with_doors(Config::default());
    let http = server.http_addr.unwrap();
    let (status, head, before) = get(http, "/metrics");
    assert_eq!(status, 200);
    assert!(head.contains("content-type: text/plain"), "{head}");
    let mut plain = server.plain();
    plain.send("register max max@example.org pw");
    plain.send("login max pw");
    for _ in 0..3 {
        assert_eq!(plain.send("whoami"), "max");
    }
    assert_eq!(server.push("max", "ping"), 1);
    assert_eq!(plain.answer(), "\nping");
    let (_, _, after) = get(http, "/metrics");
    let whoami = r#"bbs_commands_total{command="whoami"}"#;
    assert!(sample(&after, whoami) >= sample(&before, whoami) + 3.0, "{after}");
    let pushes = "bbs_pushes_delivered_total";
    assert!(sample(&after, pushes) > sample(&before, pushes), "{after}");
    assert!(sample(&after, r#"bbs_sessions{door="tcp"}"#) >= 1.0, "{after}");
    assert!(after.contains(r#"bbs_command_seconds_bucket{command="login",le="#), "{after}");
    // The registration was one durable commit at least.
    let commits = "bbs_storage_commit_seconds_count";
    assert!(sample(&after, commits) > sample(&before, commits), "{after}");
}

/// The web pages show pushes and boos as `read` does, and the board page
/// has `list-post --long`'s pinned posts first and its Push column.
#[test]
fn pages_show_push_marks_pins_and_counts() {
    let server = TestServer::start_with_doors(Config::default());
    let http = server.http_addr.unwrap();
    let mut users = Vec::new();
    for name in ["ann", "bob", "cy"] {
        let mut plain = server.plain();
        plain.send(&format!("register {name} {name}@example.org pw"));
        assert_eq!(plain.send(&format!("login {name} pw")), format!("Welcome, {name}."));
        users.push(plain);
    }
    assert_eq!(users[0].send("create-board b"), "Create board successfully.");
    for title in ["one", "two"] {
        assert_eq!(users[0].send(&format!("create-post b --title {title} --content c")), "Create post successfully.");
    }
    assert_eq!(users[1].send("push 1 nice"), "Push successfully.");
    assert_eq!(users[2].send("boo 1 meh"), "Boo successfully.");
    assert_eq!(users[2].send("comment 1 plain"), "Comment successfully.");
    assert_eq!(users[1].send("push 2 good"), "Push successfully.");
    assert_eq!(users[0].send("pin-post 2"), "Pin successfully.");

    let (_, _, post) = get(http, "/posts/1");
    assert!(post.contains("<li>推 <b>bob</b>: nice</li>"), "{post}");
    assert!(post.contains("<li>噓 <b>cy</b>: meh</li>"), "{post}");
    assert!(post.contains("<li><b>cy</b>: plain</li>"), "{post}");
    let (_, _, board) = get(http, "/boards/b");
    let pinned = board.find("<td>★2</td>").expect("the pinned post, marked");
    let other = board.find("<td>1</td>").expect("the other post");
    assert!(pinned < other, "pinned first: {board}");
    assert!(board.contains("<th>Push</th>") && board.contains("<td>1</td></tr>"), "{board}");
    let (_, _, json) = get(http, "/api/posts/1");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let kinds: Vec<&str> = json["comments"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["push", "boo", "comment"]);
}
