//! The sockets the server listens on: TCP and UDP on one port, on one or
//! several addresses, IPv4 and IPv6.
//!
//! Binding `::` (the default) asks for one dual-stack socket per protocol
//! (IPV6_V6ONLY off), which serves every IPv4 and IPv6 address. Where the
//! system refuses that, `::` serves IPv6 only and `0.0.0.0` is bound beside
//! it; where the system has no IPv6 at all, `0.0.0.0` alone.
//!
//! A dual-stack socket reports an IPv4 peer as `::ffff:a.b.c.d`; every
//! door turns that back into the plain IPv4 address ([`canonical`]) so the
//! limits, tokens and stored addresses see one form, and [`wire_address`]
//! maps it again when a datagram leaves by an IPv6 socket.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

/// The UDP socket buffers asked for (the kernel caps them at its maximum).
const UDP_BUFFER: usize = 4 << 20;

/// Pending connections the kernel queues before `accept`.
const BACKLOG: i32 = 1024;

/// One TCP listener and one UDP socket per bound address, all on one port.
#[derive(Debug)]
pub struct Listeners {
    pub(crate) pairs: Vec<(TcpListener, UdpSocket)>,
}

impl From<(TcpListener, UdpSocket)> for Listeners {
    fn from(pair: (TcpListener, UdpSocket)) -> Listeners {
        Listeners { pairs: vec![pair] }
    }
}

impl Listeners {
    /// The addresses listened on (TCP and UDP share each).
    pub fn local_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        self.pairs.iter().map(|(tcp, _)| tcp.local_addr()).collect()
    }

    /// Binds TCP and UDP on `port` of every address in `ips` (port 0: one
    /// port free on all of them). `::` is dual-stack unless an IPv4 address
    /// is also listed (see the module comment).
    pub async fn bind(ips: &[IpAddr], port: u16) -> io::Result<Listeners> {
        let plan = plan(ips);
        let mut last_error = None;
        for _ in 0..20 {
            match bind_plan(&plan, port) {
                Ok(pairs) => return Ok(Listeners { pairs }),
                Err(e) if port == 0 && e.kind() == io::ErrorKind::AddrInUse => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("no port free for both TCP and UDP")))
    }
}

/// One socket to bind: its address, and whether an IPv6 wildcard should
/// also take IPv4.
#[derive(Debug, Clone, Copy)]
struct Planned {
    ip: IpAddr,
    dual_stack: bool,
}

fn plan(ips: &[IpAddr]) -> Vec<Planned> {
    let any_v4 = ips.iter().any(IpAddr::is_ipv4);
    let mut planned = Vec::new();
    for &ip in ips {
        if planned.iter().any(|p: &Planned| p.ip == ip) {
            continue;
        }
        planned.push(Planned { ip, dual_stack: ip == IpAddr::V6(Ipv6Addr::UNSPECIFIED) && !any_v4 });
    }
    planned
}

/// Binds every planned address on one port (the first's, when `port` is 0).
fn bind_plan(plan: &[Planned], mut port: u16) -> io::Result<Vec<(TcpListener, UdpSocket)>> {
    let mut pairs = Vec::new();
    for planned in plan {
        let (pair, both_families) = match bind_pair(planned.ip, port, planned.dual_stack) {
            // No IPv6 on this system: the wildcard falls back to IPv4.
            Err(e) if planned.dual_stack && e.raw_os_error() == Some(libc_eafnosupport()) => {
                (bind_pair(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port, false)?.0, true)
            }
            other => other?,
        };
        port = pair.0.local_addr()?.port();
        pairs.push(pair);
        if planned.dual_stack && !both_families {
            tracing::warn!("IPv6 sockets here cannot take IPv4 too; listening on 0.0.0.0 as well");
            pairs.push(bind_pair(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port, false)?.0);
        }
    }
    Ok(pairs)
}

/// EAFNOSUPPORT, the error for a family the kernel lacks (97 on Linux).
fn libc_eafnosupport() -> i32 {
    if cfg!(target_os = "linux") {
        97
    } else {
        47
    }
}

/// TCP and UDP on `ip:port`; the flag says whether the sockets took both
/// families (only ever true when `dual_stack` was asked and allowed).
fn bind_pair(ip: IpAddr, port: u16, dual_stack: bool) -> io::Result<((TcpListener, UdpSocket), bool)> {
    let addr = SocketAddr::new(ip, port);
    let (tcp, tcp_dual) = socket(addr, Type::STREAM, Protocol::TCP, dual_stack)?;
    tcp.set_reuse_address(true)?;
    tcp.bind(&addr.into())?;
    tcp.listen(BACKLOG)?;
    let bound = SocketAddr::new(ip, tcp.local_addr()?.as_socket().map_or(port, |a| a.port()));
    let (udp, udp_dual) = socket(bound, Type::DGRAM, Protocol::UDP, dual_stack)?;
    udp.bind(&bound.into())?;
    // File transfers send and receive windows of datagrams at a time; the
    // default buffer (about 200 KiB) would drop them.
    let _ = udp.set_recv_buffer_size(UDP_BUFFER);
    let _ = udp.set_send_buffer_size(UDP_BUFFER);
    let tcp = TcpListener::from_std(tcp.into())?;
    let udp = UdpSocket::from_std(udp.into())?;
    Ok(((tcp, udp), tcp_dual && udp_dual))
}

/// A non-blocking socket for `addr`; an IPv6 one has IPV6_V6ONLY set as
/// asked (off for dual stack, when the system allows it).
fn socket(addr: SocketAddr, kind: Type, protocol: Protocol, dual_stack: bool) -> io::Result<(Socket, bool)> {
    let socket = Socket::new(Domain::for_address(addr), kind, Some(protocol))?;
    socket.set_nonblocking(true)?;
    let mut dual = false;
    if addr.is_ipv6() {
        dual = dual_stack && socket.set_only_v6(false).is_ok();
        if !dual {
            socket.set_only_v6(true)?;
        }
    }
    Ok((socket, dual))
}

/// Binds one TCP listener for a door (SSH, web) the way the main port is
/// bound: `::` dual-stack where the system allows.
pub async fn bind_tcp(ip: IpAddr, port: u16) -> io::Result<TcpListener> {
    let addr = SocketAddr::new(ip, port);
    let wildcard = ip == IpAddr::V6(Ipv6Addr::UNSPECIFIED);
    let (socket, _) = match socket(addr, Type::STREAM, Protocol::TCP, wildcard) {
        Err(e) if wildcard && e.raw_os_error() == Some(libc_eafnosupport()) => {
            return TcpListener::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)).await;
        }
        other => other?,
    };
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    TcpListener::from_std(socket.into())
}

/// A peer's address with an IPv4-mapped IPv6 address turned back into IPv4.
pub(crate) fn canonical(peer: SocketAddr) -> SocketAddr {
    SocketAddr::new(peer.ip().to_canonical(), peer.port())
}

/// The address to give `send_to` on `socket` for `peer`: an IPv4 peer of
/// an IPv6 (dual-stack) socket in its mapped form.
pub(crate) fn wire_address(socket: &UdpSocket, peer: SocketAddr) -> SocketAddr {
    match (socket.local_addr(), peer.ip()) {
        (Ok(local), IpAddr::V4(v4)) if local.is_ipv6() => SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), peer.port()),
        _ => peer,
    }
}

/// The socket to send to `peer` from: one of its family, else an IPv6
/// socket (dual-stack takes IPv4 peers too), else the first.
pub(crate) fn socket_for(sockets: &[Arc<UdpSocket>], peer: IpAddr) -> Option<&Arc<UdpSocket>> {
    let family = |s: &&Arc<UdpSocket>| s.local_addr().map(|a| a.is_ipv4() == peer.is_ipv4()).unwrap_or(false);
    let v6 = |s: &&Arc<UdpSocket>| s.local_addr().map(|a| a.is_ipv6()).unwrap_or(false);
    sockets.iter().find(family).or_else(|| sockets.iter().find(v6)).or_else(|| sockets.first())
}

/// Whether this machine can bind the IPv6 loopback (tests skip IPv6 cases
/// where it cannot).
pub fn ipv6_loopback_available() -> bool {
    std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_ok()
}

/// Tells a refused peer why, then closes. The message is one short line
/// that fits in a fresh socket's send buffer, so it is written without
/// waiting: a flood of refused connections costs no task and no timer.
pub(crate) fn refuse(stream: TcpStream, message: &str) {
    let _ = stream.try_write(format!("{message}\r\n").as_bytes());
    drop(stream);
}
