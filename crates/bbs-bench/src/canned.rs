//! The canned server: greets like `bbsd`, then answers every TCP command
//! line with one fixed JSON reply and every UDP datagram with a fixed text.
//! It does no work at all, so a run against it measures the ceiling of the
//! generator (and of loopback networking) on this machine.

use std::sync::Arc;

use bbs_protocol::{CLIENT_HELLO, PLAIN_GREETING};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

const CANNED_REPLY: &[u8] = b"{\"answer\":{\"text\":\"ok\"}}\n";
const HELLO_REPLY: &[u8] = b"{\"answer\":{\"event\":{\"kind\":\"hello\",\"version\":2}}}\n";

pub async fn serve(port: u16) -> anyhow::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let udp = Arc::new(UdpSocket::bind(addr).await?);
    eprintln!("canned server: Listening on {addr} (TCP and UDP)");
    tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        loop {
            let Ok((n, peer)) = udp.recv_from(&mut buf).await else { continue };
            let tag = buf[..n].strip_prefix(b"@").and_then(|rest| rest.split(|b| *b == b' ').next());
            let mut reply = Vec::with_capacity(40);
            if let Some(tag) = tag {
                reply.push(b'@');
                reply.extend_from_slice(tag);
                reply.push(b' ');
            }
            reply.extend_from_slice(b"ok");
            let _ = udp.send_to(&reply, peer).await;
        }
    });
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(connection(stream));
    }
}

async fn connection(mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    stream.write_all(PLAIN_GREETING.as_bytes()).await?;
    let mut buf = vec![0u8; 4096];
    let mut pending = Vec::new();
    let mut out = Vec::new();
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        pending.extend_from_slice(&buf[..n]);
        while let Some(pos) = pending.iter().position(|b| *b == b'\n') {
            let line = &pending[..pos];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            out.extend_from_slice(if line == CLIENT_HELLO.as_bytes() { HELLO_REPLY } else { CANNED_REPLY });
            pending.drain(..=pos);
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
    }
}
