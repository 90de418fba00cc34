//! UDP requests with retries (spec §2): a lost datagram is sent again, a
//! late reply to an earlier attempt is recognised by its tag, and a server
//! that never answers gives a clear error instead of a hang.
//!
//! Requests are not padded: the server may answer a sender without a token
//! with three times the bytes it sent (the protocol crate's `udp` module),
//! and every answer to a request this client sends fits that. A long answer arrives in numbered parts, a window at a time; the client
//! asks for the next missing ones until it has them all, retrying a window
//! that brings nothing new.

use std::net::SocketAddr;
use std::time::Duration;

use bbs_protocol::udp::{parse_reply_part, UdpRequest, PART_WINDOW};
use tokio::net::UdpSocket;

/// How long to wait for each attempt, and how many attempts in a row may
/// bring nothing before the client gives up.
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(500);
const ATTEMPTS: usize = 5;

/// The most parts the client accepts for one answer (a hostile server must
/// not make it allocate without bound): 65,536 parts of ~1.2 KB.
const MAX_PARTS: u32 = 65_536;

#[derive(Debug, thiserror::Error)]
pub enum UdpError {
    #[error("the server did not answer over UDP ({attempts} attempts to {server})")]
    NoAnswer { server: SocketAddr, attempts: usize },
    #[error("the server sent a malformed UDP answer")]
    Malformed,
    #[error("UDP: {0}")]
    Io(#[from] std::io::Error),
}

/// A UDP socket aimed at the server.
pub struct UdpLink {
    socket: UdpSocket,
    server: SocketAddr,
}

/// The parts of one answer received so far.
struct Parts {
    pieces: Vec<Option<String>>,
    missing: usize,
}

impl Parts {
    /// Records one part; `Err` if it contradicts what came before.
    fn add(&mut self, part: u32, total: u32, text: &str) -> Result<(), UdpError> {
        if total > MAX_PARTS {
            return Err(UdpError::Malformed);
        }
        if self.pieces.is_empty() {
            self.pieces = vec![None; total as usize];
            self.missing = total as usize;
        }
        if self.pieces.len() != total as usize {
            return Err(UdpError::Malformed);
        }
        let slot = &mut self.pieces[part as usize - 1];
        if slot.is_none() {
            *slot = Some(text.to_owned());
            self.missing -= 1;
        }
        Ok(())
    }

    fn complete(&self) -> bool {
        !self.pieces.is_empty() && self.missing == 0
    }

    /// The next window of parts to ask for: from the first missing one.
    fn next_window(&self) -> Option<(u32, u32)> {
        let first = self.pieces.iter().position(Option::is_none)? as u32 + 1;
        Some((first, (first + PART_WINDOW - 1).min(self.pieces.len() as u32)))
    }
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
        let mut parts = Parts { pieces: Vec::new(), missing: 0 };
        let mut buf = vec![0u8; 65_536];
        let mut fruitless = 0;
        while fruitless < ATTEMPTS {
            // The first request (and its retries) asks for the answer; later
            // ones for the window starting at the first missing part.
            let asked = parts.next_window();
            let datagram = match asked {
                Some(window) => UdpRequest::encode_parts(&id, window, token, line),
                None => UdpRequest::encode(&id, token, line),
            };
            self.socket.send(datagram.as_bytes()).await?;
            let deadline = tokio::time::Instant::now() + ATTEMPT_TIMEOUT;
            let mut progress = false;
            loop {
                let received = match tokio::time::timeout_at(deadline, self.socket.recv(&mut buf)).await {
                    Err(_) => break,
                    // "Connection refused" from an earlier datagram: retry
                    // after the attempt's time, not in a tight loop.
                    Ok(Err(_)) => {
                        tokio::time::sleep_until(deadline).await;
                        break;
                    }
                    Ok(Ok(n)) => n,
                };
                let Ok(text) = std::str::from_utf8(&buf[..received]) else { continue };
                let Some(reply) = parse_reply_part(text) else { continue };
                if reply.id != id {
                    continue;
                }
                let before = (parts.pieces.len(), parts.missing);
                parts.add(reply.part, reply.total, reply.text)?;
                if parts.complete() {
                    return Ok(parts.pieces.into_iter().map(Option::unwrap_or_default).collect());
                }
                progress |= (parts.pieces.len(), parts.missing) != before;
                // Everything asked for is here: ask for the next window now.
                let (from, to) = asked.unwrap_or((1, PART_WINDOW));
                let to = (to as usize).min(parts.pieces.len());
                if parts.pieces[from as usize - 1..to].iter().all(Option::is_some) {
                    break;
                }
            }
            fruitless = if progress { 0 } else { fruitless + 1 };
        }
        Err(UdpError::NoAnswer { server: self.server, attempts: ATTEMPTS })
    }
}
