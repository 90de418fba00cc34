//! The UDP socket both sides move transfer datagrams through, in batches:
//! a run of data datagrams leaves in one system call (UDP GSO: the kernel
//! cuts one buffer into datagrams of [`MAX_DATAGRAM`](super::MAX_DATAGRAM)
//! bytes, each a datagram of its own on the wire), and one call takes in
//! many datagrams (`recvmmsg`, and GRO where the kernel coalesces a flow's
//! datagrams). One datagram per system call was what bounded a transfer's
//! rate; `quinn-udp` does the system calls behind a safe API, and falls
//! back to one datagram per call where the kernel lacks GSO or GRO.

use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::sync::Arc;

use quinn_udp::{RecvMeta, Transmit, UdpSocketState};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Bytes of one receive buffer: room for the largest coalesced (GRO)
/// message.
const RECEIVE_BUFFER: usize = 1 << 16;

/// A tokio UDP socket with the batching state `quinn-udp` keeps for it.
#[derive(Debug)]
pub struct TransferSocket {
    socket: Arc<UdpSocket>,
    state: UdpSocketState,
}

impl TransferSocket {
    /// Sets the socket up for batches (GRO on, where the kernel has it).
    pub fn new(socket: Arc<UdpSocket>) -> io::Result<TransferSocket> {
        let state = UdpSocketState::new((&*socket).into())?;
        Ok(TransferSocket { socket, state })
    }

    pub fn socket(&self) -> &Arc<UdpSocket> {
        &self.socket
    }

    /// Most datagrams one [`send_batch`](Self::send_batch) may carry (1
    /// where the kernel has no GSO).
    pub fn max_segments(&self) -> usize {
        self.state.max_gso_segments().max(1)
    }

    /// Sends `contents` to `to`: one datagram, or with `segment_size`
    /// several of that size (the last may be shorter) in one call. Waits
    /// while the socket's buffer is full.
    pub async fn send_batch(&self, to: SocketAddr, contents: &[u8], segment_size: Option<usize>) -> io::Result<()> {
        let segment_size = segment_size.filter(|&size| size < contents.len());
        let transmit = Transmit { destination: to, ecn: None, contents, segment_size, src_ip: None };
        loop {
            self.socket.writable().await?;
            match self.socket.try_io(Interest::WRITABLE, || self.state.try_send((&*self.socket).into(), &transmit)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                other => return other,
            }
        }
    }

    /// Waits for datagrams and takes in what is there, into `buffers`.
    pub async fn recv(&self, buffers: &mut Received) -> io::Result<()> {
        loop {
            self.socket.readable().await?;
            match self.socket.try_io(Interest::READABLE, || self.recv_now(buffers)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                other => return other,
            }
        }
    }

    /// Takes in what is there without waiting (`WouldBlock` if nothing).
    pub fn try_recv(&self, buffers: &mut Received) -> io::Result<()> {
        self.socket.try_io(Interest::READABLE, || self.recv_now(buffers))
    }

    fn recv_now(&self, buffers: &mut Received) -> io::Result<()> {
        buffers.messages = 0;
        let mut slices: [IoSliceMut<'_>; quinn_udp::BATCH_SIZE] = std::array::from_fn(|_| IoSliceMut::new(&mut []));
        for (slice, storage) in slices.iter_mut().zip(buffers.storage.chunks_mut(RECEIVE_BUFFER)) {
            *slice = IoSliceMut::new(storage);
        }
        let n = self.state.recv((&*self.socket).into(), &mut slices, &mut buffers.meta)?;
        buffers.messages = n;
        Ok(())
    }
}

/// Buffers for one batched receive, and what it took in.
pub struct Received {
    storage: Vec<u8>,
    meta: Vec<RecvMeta>,
    messages: usize,
}

impl Default for Received {
    fn default() -> Received {
        Received {
            storage: vec![0u8; RECEIVE_BUFFER * quinn_udp::BATCH_SIZE],
            meta: vec![RecvMeta::default(); quinn_udp::BATCH_SIZE],
            messages: 0,
        }
    }
}

impl Received {
    /// The datagrams taken in by the last receive, with their senders (a
    /// coalesced message is cut back into its datagrams).
    pub fn datagrams(&self) -> impl Iterator<Item = (SocketAddr, &[u8])> + '_ {
        self.meta[..self.messages].iter().zip(self.storage.chunks(RECEIVE_BUFFER)).flat_map(|(meta, storage)| {
            let stride = if meta.stride == 0 { meta.len.max(1) } else { meta.stride };
            storage[..meta.len].chunks(stride).map(move |datagram| (meta.addr, datagram))
        })
    }
}
