//! The real chatroom host code run in process with chosen limits, for what
//! the defaults make slow to provoke: a connection that never presents a
//! ticket, and a member too slow to keep up (dropped, not waited for).

mod support;

use std::time::Duration;

use bbs_client::host::{History, Host, HostLimits};
use bbs_protocol::chat::{HostFrame, RoomKey, Ticket};
use support::RawMember;
use tokio::net::TcpListener;

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

async fn start(limits: HostLimits) -> (Host, RoomKey, std::net::SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = listener.local_addr().unwrap();
    let key = RoomKey::random();
    (Host::start(listener, key.clone(), "Brad".into(), History::default(), limits), key, at)
}

/// Runs blocking member code off the runtime's workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_refused_after_the_hello_timeout() {
    let limits = HostLimits { hello_timeout: Duration::from_millis(200), ..HostLimits::default() };
    let (host, _key, at) = start(limits).await;
    let frame = blocking(move || RawMember::connect(at).next()).await;
    assert_eq!(
        frame,
        Some(HostFrame::Refused { reason: "A ticket from the BBS server is needed: use join-chatroom.".into() })
    );
    host.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_cannot_keep_up_is_dropped_not_waited_for() {
    let limits = HostLimits { queue: 8, rate_per_sec: 1e9, burst: 1e9, ..HostLimits::default() };
    let (host, key, at) = start(limits).await;
    let (_records, mut screen) = host.attach().await;
    let slow_ticket = Ticket::issue(&key, "Slow", "Brad", now());
    let fast_ticket = Ticket::issue(&key, "Fast", "Brad", now());
    // Slow joins, then never reads again.
    let slow = blocking(move || {
        let mut slow = RawMember::connect(at);
        assert!(matches!(slow.hello(slow_ticket), HostFrame::Welcome { .. }));
        slow
    })
    .await;
    assert_eq!(screen.recv().await.unwrap().split_once(" : ").unwrap().1, "Slow join us.");
    let fast = blocking(move || {
        let mut fast = RawMember::connect(at);
        assert!(matches!(fast.hello(fast_ticket), HostFrame::Welcome { .. }));
        fast
    })
    .await;
    assert_eq!(screen.recv().await.unwrap().split_once(" : ").unwrap().1, "Fast join us.");
    // Fast talks until the room gives up on Slow (its socket buffers and
    // its queue of 8 fill up): Fast is never held up, and is told.
    let text = "x".repeat(4000);
    let said = blocking(move || {
        let mut fast = fast;
        let mut said = 0;
        let mut batch = Vec::new();
        for _ in 0..64 {
            batch.extend_from_slice(&bbs_protocol::chat::encode(&bbs_protocol::chat::MemberFrame::Say {
                text: text.clone(),
            }));
        }
        loop {
            fast.write_raw(&batch);
            said += 64;
            // Whatever arrives for Fast: only the leave line is expected.
            fast.stream().set_read_timeout(Some(Duration::from_millis(1))).unwrap();
            let mut probe = [0u8; 1];
            if fast.stream().peek(&mut probe).is_ok() {
                fast.stream().set_read_timeout(Some(bbs_testkit::ANSWER_TIMEOUT)).unwrap();
                let frame = fast.next().unwrap();
                assert!(matches!(&frame, HostFrame::System { text, .. } if text == "Slow leave us."), "{frame:?}");
                return said;
            }
            assert!(said < 20_000, "the slow member was never dropped");
        }
    })
    .await;
    assert!(said > 8);
    // The owner saw the leave too, after Fast's messages.
    loop {
        let line = screen.recv().await.unwrap();
        if line.ends_with("Slow leave us.") {
            break;
        }
        assert!(line.starts_with("Fast["), "{line}");
    }
    drop(slow);
    host.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_does_not_wait_for_connections_that_never_presented_a_ticket() {
    let (host, key, at) = start(HostLimits { hello_timeout: Duration::from_secs(600), ..HostLimits::default() }).await;
    let (connected_tx, connected_rx) = tokio::sync::oneshot::channel();
    let silent = tokio::task::spawn_blocking(move || {
        let mut silent = RawMember::connect(at);
        let _ = connected_tx.send(());
        silent.next()
    });
    connected_rx.await.unwrap();
    // Connections are accepted in order: once a later one is welcomed, the
    // silent one is in the host, waiting for its ticket.
    let ticket = Ticket::issue(&key, "Later", "Brad", now());
    let later = blocking(move || {
        let mut later = RawMember::connect(at);
        assert!(matches!(later.hello(ticket), HostFrame::Welcome { .. }));
        later
    })
    .await;
    let started = std::time::Instant::now();
    host.close().await;
    assert!(started.elapsed() < Duration::from_secs(2), "close waited {:?}", started.elapsed());
    assert_eq!(silent.await.unwrap(), Some(HostFrame::Refused { reason: "The chatroom is close.".into() }));
    drop(later);
}
