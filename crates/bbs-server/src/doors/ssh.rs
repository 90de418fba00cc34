//! The SSH door: `ssh -p PORT name@host` logs in as BBS user `name`, with
//! the BBS password or a key the user registered (`add-key`); `new@host`
//! is let in without logging in, to `register` and `login` as on telnet.
//!
//! Each SSH connection takes a connection slot (the same count as TCP, by
//! the peer's real address) and serves one session channel: with a pty
//! the terminal gets server-side line editing ([`super::line_editor`]),
//! without one (`ssh -T`, or a command on the ssh command line) bytes
//! pass as they would through nc. Either way the engine runs the session
//! exactly as for a telnet user: same commands, answers and pushes.
//!
//! Password logins go through the same check as the `login` command (its
//! rate limits per address and per account, the bounded hasher).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bbs_storage::Store;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::ssh_key::LineEnding;
use russh::keys::PrivateKey;
use russh::server::{Auth, ChannelOpenHandle, Handler, Msg, PublicKeyOffer, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId, ChannelMsg, MethodKind, MethodSet};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

use super::screen::{self, ScreenEvent, ScreenStart, OUTPUT_QUEUE};
use super::terminal::{self, Mode, TerminalEvent};
use super::DoorError;
use crate::cmd::{check_password, user_has_key};
use crate::engine::Start;
use crate::rate::{ConnectionCount, ConnectionSlot};
use crate::state::Shared;
use crate::telemetry::Door;

/// The user name that lets a person in without an account.
pub const NEW_USER: &str = "new";

/// How long a refused login waits before its answer (guessing is slow).
const AUTH_REJECTION_TIME: Duration = Duration::from_millis(500);

/// Terminal size assumed until the client says.
const DEFAULT_COLUMNS: u16 = 80;
const DEFAULT_ROWS: u16 = 24;

/// The command (`ssh -t host line`) that asks for the line interface on
/// a terminal instead of the full screen.
pub const LINE_COMMAND: &str = "line";

/// A size the client sent, or `default` for 0 (unknown).
fn clamp_size(value: u32, default: u16) -> u16 {
    match u16::try_from(value) {
        Ok(0) => default,
        Ok(value) => value,
        Err(_) => u16::MAX,
    }
}

/// The server's host key from `path`, or a new Ed25519 key written there
/// (readable by the owner only) on first start.
pub fn load_or_create_host_key(path: &Path) -> Result<PrivateKey, DoorError> {
    if path.exists() {
        return russh::keys::load_secret_key(path, None)
            .map_err(|e| DoorError::HostKey { path: path.to_owned(), reason: e.to_string() });
    }
    use rand::RngCore;
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    let key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
    let text = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| DoorError::HostKey { path: path.to_owned(), reason: e.to_string() })?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| DoorError::HostKey { path: path.to_owned(), reason: e.to_string() })?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let write = |options: &std::fs::OpenOptions| -> std::io::Result<()> {
        use std::io::Write;
        let mut file = options.open(path)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()
    };
    write(&options).map_err(|e| DoorError::HostKey { path: path.to_owned(), reason: e.to_string() })?;
    tracing::info!(path = %path.display(), "created the SSH host key");
    Ok(key)
}

/// The russh settings of the door.
pub(crate) fn russh_config<S>(shared: &Shared<S>, host_key: PrivateKey) -> Arc<russh::server::Config> {
    Arc::new(russh::server::Config {
        server_id: russh::SshId::Standard("SSH-2.0-bbsd".into()),
        methods: MethodSet::from(&[MethodKind::None, MethodKind::PublicKey, MethodKind::Password][..]),
        auth_rejection_time: AUTH_REJECTION_TIME,
        // OpenSSH first asks with "none" to learn the methods: no delay.
        auth_rejection_time_initial: Some(Duration::ZERO),
        keys: vec![host_key],
        // The engine's idle timeouts govern sessions; this only reaps
        // connections that never open one.
        inactivity_timeout: Some(shared.config.idle_timeout_logged_in),
        nodelay: true,
        ..Default::default()
    })
}

/// Accepts SSH connections until `stop`; each is served on its own task.
pub(crate) async fn serve<S: Store>(
    shared: Arc<Shared<S>>,
    listener: TcpListener,
    config: Arc<russh::server::Config>,
    connections: Arc<ConnectionCount>,
    stop: watch::Receiver<bool>,
) {
    // SSH lets a server send lines before its version, so a refused peer
    // sees why.
    super::accept_until_stopped("SSH", listener, &connections, stop.clone(), |stream, peer, slot| {
        let handler =
            Connection { shared: Arc::clone(&shared), peer, slot: Some(slot), stop: stop.clone(), user: None };
        let config = Arc::clone(&config);
        async move {
            match russh::server::run_stream(config, stream, handler).await {
                Ok(session) => {
                    if let Err(e) = session.await {
                        tracing::debug!(error = %e, "SSH connection ended with an error");
                    }
                }
                Err(e) => tracing::debug!(error = %e, "SSH handshake failed"),
            }
        }
        .instrument(tracing::info_span!("ssh", %peer))
    })
    .await;
}

/// One SSH connection.
struct Connection<S> {
    shared: Arc<Shared<S>>,
    peer: SocketAddr,
    /// Taken by the first session channel; the connection serves one.
    slot: Option<ConnectionSlot>,
    stop: watch::Receiver<bool>,
    /// The BBS user authenticated; `None` for [`NEW_USER`].
    user: Option<String>,
}

impl<S: Store> Handler for Connection<S> {
    type Error = russh::Error;

    async fn auth_none(&mut self, user: &str) -> Result<Auth, Self::Error> {
        Ok(if user == NEW_USER {
            self.user = None;
            Auth::Accept
        } else {
            Auth::reject()
        })
    }

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        if user == NEW_USER {
            self.user = None;
            return Ok(Auth::Accept);
        }
        match check_password(&self.shared, self.peer.ip(), user, password.to_owned()).await {
            Ok(Ok(())) => {
                self.user = Some(user.to_owned());
                Ok(Auth::Accept)
            }
            Ok(Err(refusal)) => {
                tracing::info!(user, answer = %refusal.text, "SSH password login refused");
                Ok(Auth::reject())
            }
            Err(failure) => {
                tracing::warn!(user, error = %failure, "SSH password login failed");
                Ok(Auth::reject())
            }
        }
    }

    async fn auth_publickey_offered(&mut self, user: &str, offer: PublicKeyOffer<'_>) -> Result<Auth, Self::Error> {
        Ok(if self.has_key(user, offer.public_key).await { Auth::Accept } else { Auth::reject() })
    }

    async fn auth_publickey(&mut self, user: &str, key: VerifiedPublicKey<'_>) -> Result<Auth, Self::Error> {
        if self.has_key(user, key.public_key).await {
            self.user = Some(user.to_owned());
            Ok(Auth::Accept)
        } else {
            Ok(Auth::reject())
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // One session per connection: a second channel is refused (by
        // dropping its handle).
        let Some(slot) = self.slot.take() else { return Ok(()) };
        reply.accept().await;
        let start = Start { door: Door::Ssh, user: self.user.clone() };
        tokio::spawn(
            channel_session(Arc::clone(&self.shared), self.peer, slot, self.stop.clone(), start, channel)
                .in_current_span(),
        );
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _columns: u32,
        _rows: u32,
        _pixel_width: u32,
        _pixel_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }

    async fn shell_request(&mut self, channel: ChannelId, session: &mut Session) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }
}

impl<S: Store> Connection<S> {
    async fn has_key(&self, user: &str, key: &russh::keys::PublicKey) -> bool {
        if user == NEW_USER {
            return false;
        }
        // A suspended account is not let in by its keys either.
        let now = self.shared.config.clock.now();
        match self.shared.store.suspension(user, now).await {
            Ok(None) => {}
            Ok(Some(_)) => return false,
            Err(e) => {
                tracing::warn!(user, error = %e, "reading the suspension failed");
                return false;
            }
        }
        user_has_key(&self.shared, user, key).await.unwrap_or_else(|e| {
            tracing::warn!(user, error = %e, "reading SSH keys failed");
            false
        })
    }
}

/// Serves one session channel: waits for the shell (or a command), then
/// joins the channel to a terminal session until either side ends.
async fn channel_session<S: Store>(
    shared: Arc<Shared<S>>,
    peer: SocketAddr,
    slot: ConnectionSlot,
    stop: watch::Receiver<bool>,
    start: Start,
    channel: Channel<Msg>,
) {
    let (mut reader, writer) = channel.split();
    let mut pty: Option<(u16, u16)> = None;
    let (mode, command) = loop {
        match reader.wait().await {
            Some(ChannelMsg::RequestPty { col_width, row_height, .. }) => {
                pty = Some((clamp_size(col_width, DEFAULT_COLUMNS), clamp_size(row_height, DEFAULT_ROWS)))
            }
            Some(ChannelMsg::RequestShell { .. }) => match pty {
                // A terminal: the full-screen interface.
                Some(size) => {
                    let start = ScreenStart { door: Door::Ssh, user: start.user, size };
                    return screen_session(shared, peer, slot, stop, start, reader, writer).await;
                }
                None => break (Mode::Raw, None),
            },
            // `ssh -t host line`: the line interface, edited on a pty.
            Some(ChannelMsg::Exec { command, .. }) if command == LINE_COMMAND.as_bytes() => {
                break (pty.map_or(Mode::Raw, |(columns, _)| Mode::Editing { columns }), None)
            }
            Some(ChannelMsg::Exec { command, .. }) => break (Mode::Raw, Some(command)),
            Some(_) => {}
            None => return,
        }
    };
    let (events, events_in) = mpsc::channel(64);
    let (output_out, mut output) = mpsc::channel::<Vec<u8>>(16);
    let session =
        tokio::spawn(terminal::run(shared, peer, slot, stop, start, mode, events_in, output_out).in_current_span());
    let mut reading = true;
    if let Some(mut command) = command {
        command.push(b'\n');
        let _ = events.send(TerminalEvent::Input(command)).await;
        let _ = events.send(TerminalEvent::InputClosed).await;
        reading = false;
    }
    loop {
        tokio::select! {
            message = reader.wait(), if reading => {
                let event = match message {
                    Some(ChannelMsg::Data { data }) => TerminalEvent::Input(data.to_vec()),
                    Some(ChannelMsg::WindowChange { col_width, .. }) => {
                        TerminalEvent::Resize(clamp_size(col_width, DEFAULT_COLUMNS))
                    }
                    Some(ChannelMsg::Eof | ChannelMsg::Close) | None => {
                        reading = false;
                        TerminalEvent::InputClosed
                    }
                    Some(_) => continue,
                };
                if events.send(event).await.is_err() {
                    reading = false;
                }
            }
            bytes = output.recv() => match bytes {
                Some(bytes) => {
                    if writer.data(&bytes[..]).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
        }
    }
    drop(events);
    let _ = session.await;
    let _ = writer.exit_status(0).await;
    let _ = writer.eof().await;
    let _ = writer.close().await;
}

/// Serves a session channel with a pty: the full-screen interface, with
/// the window size from the pty request and every window change.
async fn screen_session<S: Store>(
    shared: Arc<Shared<S>>,
    peer: SocketAddr,
    slot: ConnectionSlot,
    stop: watch::Receiver<bool>,
    start: ScreenStart,
    mut reader: russh::ChannelReadHalf,
    writer: russh::ChannelWriteHalf<Msg>,
) {
    let write_timeout = shared.limits().write_timeout;
    let (events, events_in) = mpsc::channel(64);
    let (output_out, mut output) = mpsc::channel::<Vec<u8>>(OUTPUT_QUEUE);
    let session = tokio::spawn(screen::run(shared, peer, start, events_in, output_out, stop).in_current_span());
    let mut reading = true;
    loop {
        tokio::select! {
            message = reader.wait(), if reading => {
                let event = match message {
                    Some(ChannelMsg::Data { data }) => ScreenEvent::Input(data.to_vec()),
                    Some(ChannelMsg::WindowChange { col_width, row_height, .. }) => ScreenEvent::Resize {
                        columns: clamp_size(col_width, DEFAULT_COLUMNS),
                        rows: clamp_size(row_height, DEFAULT_ROWS),
                    },
                    Some(ChannelMsg::Eof | ChannelMsg::Close) | None => {
                        reading = false;
                        ScreenEvent::InputClosed
                    }
                    Some(_) => continue,
                };
                if events.send(event).await.is_err() {
                    reading = false;
                }
            }
            bytes = output.recv() => match bytes {
                Some(bytes) => match tokio::time::timeout(write_timeout, writer.data(&bytes[..])).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => break,
                    Err(_) => {
                        tracing::info!("peer stopped reading; closing");
                        break;
                    }
                },
                None => break,
            },
        }
    }
    drop(events);
    drop(output);
    let _ = session.await;
    drop(slot);
    let _ = writer.exit_status(0).await;
    let _ = writer.eof().await;
    let _ = writer.close().await;
}
