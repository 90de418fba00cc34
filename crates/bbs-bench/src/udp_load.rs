//! UDP load: `whoami` with a valid token from K concurrent requesters, each
//! in a closed loop (next datagram after the answer, or after a timeout,
//! which counts as an error).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bbs_protocol::udp::parse_reply;
use tokio::net::UdpSocket;

use crate::load::Window;
use crate::stats::Stats;

/// A lost datagram is given up on after this long (and counted as an error).
const LOSS_TIMEOUT: Duration = Duration::from_millis(200);

pub async fn requester(
    addr: SocketAddr,
    me: usize,
    token: Option<String>,
    expect: Option<String>,
    window: Window,
) -> anyhow::Result<Stats> {
    let socket = UdpSocket::bind("127.0.0.1:0").await?;
    socket.connect(addr).await?;
    let mut stats = Stats::default();
    let mut buf = vec![0u8; 2048];
    let mut request = String::with_capacity(80);
    let token = token.as_deref().unwrap_or("-");
    for n in 0u64.. {
        use std::fmt::Write;
        request.clear();
        let tag = format!("{me}.{n}");
        let _ = write!(request, "@{tag} {token} whoami");
        let started = Instant::now();
        socket.send(request.as_bytes()).await?;
        let measured = started >= window.measure_from;
        let deadline = tokio::time::Instant::from_std(started + LOSS_TIMEOUT);
        loop {
            match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
                Err(_) => {
                    if measured {
                        stats.error("whoami", || "no answer within 200 ms".into());
                    }
                    break;
                }
                Ok(received) => {
                    let got = received?;
                    let text = String::from_utf8_lossy(&buf[..got]);
                    let Some((got_tag, answer)) = parse_reply(&text) else { continue };
                    if got_tag != tag {
                        continue; // a late answer to a request already given up on
                    }
                    let took = started.elapsed();
                    if let Some(expect) = &expect {
                        if answer != expect {
                            if measured {
                                stats.error("whoami", || format!("answer {answer:?}"));
                            }
                            break;
                        }
                    }
                    if measured && started + took <= window.until {
                        stats.record("whoami", took);
                    }
                    break;
                }
            }
        }
        if Instant::now() >= window.until {
            break;
        }
    }
    Ok(stats)
}
