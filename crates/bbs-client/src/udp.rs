//! UDP requests with retries (spec §2): a lost datagram is sent again, a
//! late reply to an earlier attempt is recognised by its tag, and a server
//! that never answers gives a clear error instead of a hang.

use std::net::SocketAddr;
use std::time::Duration;

use bbs_protocol::udp::{parse_reply, UdpRequest};
use tokio::net::UdpSocket;

/// How long to wait for each attempt, and how many attempts.
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(500);
const ATTEMPTS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum UdpError {
    #[error("the server did not answer over UDP ({attempts} attempts to {server})")]
    NoAnswer { server: SocketAddr, attempts: usize },
    #[error("UDP: {0}")]
    Io(#[from] std::io::Error),
}

/// A UDP socket aimed at the server.
pub struct UdpLink {
    socket: UdpSocket,
    server: SocketAddr,
}

impl UdpLink {
    /// Binds to `local_ip` (the address of the TCP connection, so the
    /// server sees the same address that logged in) and aims at `server`.
    pub async fn new(local_ip: std::net::IpAddr, server: SocketAddr) -> Result<UdpLink, UdpError> {
        let socket = UdpSocket::bind(SocketAddr::new(local_ip, 0)).await?;
        socket.connect(server).await?;
        Ok(UdpLink { socket, server })
    }

    /// Sends `line` (with the login token, if any) and returns the answer.
    pub async fn request(&self, token: Option<&str>, line: &str) -> Result<String, UdpError> {
        let id = format!("{:08x}", rand::random::<u32>());
        let datagram = UdpRequest::encode(&id, token, line);
        let mut buf = vec![0u8; 65_536];
        for _ in 0..ATTEMPTS {
            self.socket.send(datagram.as_bytes()).await?;
            let deadline = tokio::time::Instant::now() + ATTEMPT_TIMEOUT;
            loop {
                let received = match tokio::time::timeout_at(deadline, self.socket.recv(&mut buf)).await {
                    Err(_) => break,
                    // "Connection refused" from an earlier datagram: retry.
                    Ok(Err(_)) => break,
                    Ok(Ok(n)) => n,
                };
                let Ok(text) = std::str::from_utf8(&buf[..received]) else { continue };
                if let Some((reply_id, answer)) = parse_reply(text) {
                    if reply_id == id {
                        return Ok(answer.to_owned());
                    }
                }
            }
            if tokio::time::Instant::now() < deadline {
                tokio::time::sleep_until(deadline).await;
            }
        }
        Err(UdpError::NoAnswer { server: self.server, attempts: ATTEMPTS })
    }
}
