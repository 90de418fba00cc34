//! Telling systemd that the server is ready (`Type=notify` services): a
//! datagram `READY=1` to the unix socket named by `$NOTIFY_SOCKET`. Not
//! under systemd (no such variable), nothing is sent.

use std::io;

/// Sends `state` (e.g. `READY=1`, `RELOADING=1`) to systemd; `Ok(false)`
/// when not run by systemd.
pub fn notify(state: &str) -> io::Result<bool> {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(false);
    };
    let socket = std::os::unix::net::UnixDatagram::unbound()?;
    let bytes = path.as_encoded_bytes();
    // A name starting with '@' is in Linux's abstract namespace.
    if let Some(name) = bytes.strip_prefix(b"@") {
        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            socket.send_to_addr(state.as_bytes(), &addr)?;
            return Ok(true);
        }
        #[cfg(not(target_os = "linux"))]
        return Err(io::Error::new(io::ErrorKind::Unsupported, format!("abstract socket {name:?}")));
    }
    socket.send_to(state.as_bytes(), path)?;
    Ok(true)
}
