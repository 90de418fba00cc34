//! Being a member of someone else's chatroom: connect to the host the
//! server named, present the ticket, then exchange frames.

use bbs_protocol::chat::{self, HostFrame, MemberFrame, Record, Ticket};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;

use crate::host::FrameReader;

/// The largest frame accepted from a host (three 4 KiB records, escaped,
/// fit easily); protects the member from a broken or hostile host.
const MAX_HOST_FRAME: usize = 1024 * 1024;

/// How long joining may take (connect and welcome): an owner behind a
/// firewall must not leave the user hanging for the OS's connect timeout.
const JOIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error("Cannot reach the chatroom at {0}: {1}")]
    Unreachable(String, std::io::Error),
    #[error("The chatroom refused to let you in: {0}")]
    Refused(String),
    #[error("The chatroom closed the connection.")]
    Closed,
    #[error("The chatroom at {0} did not answer in time.")]
    TimedOut(String),
}

/// A connection to a chatroom host.
pub struct Membership {
    frames: FrameReader,
    writer: OwnedWriteHalf,
}

impl Membership {
    /// Connects and presents `ticket`; on success returns the latest records.
    pub async fn join(address: &str, port: u16, ticket: Ticket) -> Result<(Membership, Vec<Record>), JoinError> {
        let target = if address.contains(':') { format!("[{address}]:{port}") } else { format!("{address}:{port}") };
        tokio::time::timeout(JOIN_TIMEOUT, Membership::enter(&target, ticket))
            .await
            .unwrap_or_else(|_| Err(JoinError::TimedOut(target.clone())))
    }

    async fn enter(target: &str, ticket: Ticket) -> Result<(Membership, Vec<Record>), JoinError> {
        let target = target.to_owned();
        let stream = TcpStream::connect(&target).await.map_err(|e| JoinError::Unreachable(target.clone(), e))?;
        let _ = stream.set_nodelay(true);
        let (reader, writer) = stream.into_split();
        let mut membership = Membership { frames: FrameReader::new(reader, MAX_HOST_FRAME), writer };
        membership.send(&MemberFrame::Hello { ticket }).await;
        match membership.next().await {
            Some(HostFrame::Welcome { records }) => Ok((membership, records)),
            Some(HostFrame::Refused { reason }) => Err(JoinError::Refused(reason)),
            _ => Err(JoinError::Closed),
        }
    }

    /// The next frame from the host; `None` when the connection is gone.
    /// Cancel-safe.
    pub async fn next(&mut self) -> Option<HostFrame> {
        loop {
            match self.frames.next().await? {
                Ok(line) => match chat::decode::<HostFrame>(line.as_bytes()) {
                    Ok(frame) => return Some(frame),
                    Err(_) => continue,
                },
                Err(_) => continue,
            }
        }
    }

    /// Sends a frame; a lost connection shows up at the next [`Self::next`].
    pub async fn send(&mut self, frame: &MemberFrame) {
        let _ = self.writer.write_all(&chat::encode(frame)).await;
    }

    /// Leaves politely and waits for the host to close the connection.
    pub async fn leave(mut self) {
        self.send(&MemberFrame::Leave).await;
        let _ = self.writer.shutdown().await;
    }
}
