//! Serving other clients while a script runs past busy-reply-threshold, as
//! Redis's `processEventsWhileBlocked`: the script's hook calls `serve`
//! between instructions, which accepts new connections, reads and runs
//! what clients sent (anything not flagged allow-busy gets `-BUSY`, so
//! SCRIPT KILL, FUNCTION KILL and SHUTDOWN NOSAVE work) and writes the
//! replies, never waiting for a socket.
//!
//! Connections on this thread (the default) are served from their sockets
//! directly: their tasks are suspended, and a client qualifies only while
//! its task holds no input it has not run (`Client::input_idle`) and no
//! output it has not written (`Wire::unsent`). Whatever is left over (part
//! of a request, output the socket did not take) is the task's to finish:
//! it is woken when the script ends and takes the input from
//! `Client::busy_input`, the output from `Client::out`. With io-threads
//! the connections read and write on their own threads, and it is the
//! executor's inbox that is drained here.

use std::cell::RefCell;
use std::collections::HashSet;
use std::io::{ErrorKind, Read, Write};
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::rc::Weak;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};

use super::client::{Client, Outlet};
use super::conn::{self, close_on_output_limit, set_keepalive, Peer};
use super::io_threads::{self, Accepted, Dispatch, Inbox, ToExecutor};
use crate::executor::{self, Server};
use crate::protocol::{Decoder, Limits};
use crate::types::dict::PREFETCH_MAX;
use crate::util::now_ms;

/// Input read for a client while a script ran: what its connection task
/// decodes next, and the decoder's state within it.
#[derive(Default)]
pub struct Carry {
    pub decoder: Decoder,
    pub buf: BytesMut,
}

/// A listening socket, to accept from without its task.
pub struct Listener {
    pub fd: RawFd,
    /// The path of a unix socket listener.
    pub unix: Option<String>,
}

/// How connections are served: on this thread, or on I/O threads that
/// send their requests to the executor's inbox.
pub enum Mode {
    Local(Weak<RefCell<Server>>),
    Threads { dispatch: Dispatch, inbox: Inbox },
}

struct Io {
    listeners: Vec<Listener>,
    mode: Mode,
    /// Connections on this thread served since the script passed the
    /// threshold: their tasks are woken when it ends.
    served: HashSet<u64>,
    /// Messages from I/O threads that wait for the script's end.
    deferred: Vec<ToExecutor>,
    /// When the last pass ran (None: none during this script yet).
    last_pass: Option<Instant>,
}

thread_local! {
    static IO: RefCell<Option<Io>> = const { RefCell::new(None) };
}

/// Records, at start-up, what `serve` needs to reach the clients.
pub fn register(listeners: Vec<Listener>, mode: Mode) {
    IO.with_borrow_mut(|io| {
        *io = Some(Io { listeners, mode, served: HashSet::new(), deferred: Vec::new(), last_pass: None })
    });
}

/// Most bytes read from one client in one pass.
const READ_PER_PASS: usize = 1024 * 1024;
/// Most connections accepted from one listener in one pass.
const ACCEPT_PER_PASS: usize = 64;

/// Time between two passes: a pass reads every client's socket, which
/// with many clients would slow the script down if done at every hook.
const PASS_EVERY: Duration = Duration::from_millis(5);

/// One pass over the listeners and clients (at most one per
/// [`PASS_EVERY`]); `srv.busy` is set.
pub fn serve(srv: &mut Server) {
    IO.with_borrow_mut(|io| {
        let Some(io) = io else { return };
        let now = Instant::now();
        if io.last_pass.is_some_and(|t| now < t + PASS_EVERY) {
            return;
        }
        io.last_pass = Some(now);
        accept(srv, &io.listeners, &io.mode);
        match &io.mode {
            Mode::Local(_) => {
                let mut ids: Vec<u64> = srv.clients.values().filter(|c| servable(c)).map(|c| c.id).collect();
                ids.sort_unstable();
                for id in ids {
                    io.served.insert(id);
                    serve_local(srv, id);
                }
            }
            Mode::Threads { inbox, .. } => {
                while let Ok(msg) = inbox.borrow_mut().try_recv() {
                    // The script's own client is out of `clients` until its
                    // batch ends: its hang-up is handled after that.
                    if let ToExecutor::Closed { id } = &msg {
                        if !srv.clients.contains_key(id) {
                            io.deferred.push(msg);
                            continue;
                        }
                    }
                    io_threads::handle(srv, msg);
                }
            }
        }
    });
}

/// The script ended: the connection tasks of the clients served meanwhile
/// take over what was left for them.
pub fn finish(srv: &mut Server) {
    let served = IO.with_borrow_mut(|io| {
        let Some(io) = io else { return HashSet::new() };
        io.last_pass = None;
        std::mem::take(&mut io.served)
    });
    for id in served {
        if let Some(Outlet::Local(notify)) = srv.clients.get(&id).map(|c| &c.outlet) {
            notify.notify_one();
        }
    }
}

/// What the I/O threads sent during a script that waited for its end.
pub fn take_deferred() -> Vec<ToExecutor> {
    IO.with_borrow_mut(|io| io.as_mut().map(|io| std::mem::take(&mut io.deferred)).unwrap_or_default())
}

/// Whether a client on this thread can be served from its socket now.
fn servable(c: &Client) -> bool {
    matches!(c.outlet, Outlet::Local(_))
        && c.input_idle
        && c.wire.unsent() == 0
        && !c.wire.killed()
        && c.blocked.is_none()
        && !c.is_held()
        && !c.close_after_reply
}

/// The client's socket, borrowed: `recv` and `send` work on any stream
/// socket, TCP or unix.
///
/// SAFETY (for callers): `fd` is the socket of a connection whose task is
/// suspended and keeps it open; ManuallyDrop keeps it from being closed.
unsafe fn socket(fd: RawFd) -> ManuallyDrop<std::net::TcpStream> {
    ManuallyDrop::new(std::net::TcpStream::from_raw_fd(fd))
}

/// Reads what the client sent, runs it, and writes what the socket takes.
fn serve_local(srv: &mut Server, id: u64) {
    let Some(mut client) = srv.clients.remove(&id) else { return };
    // SAFETY: a registered client's task owns the socket and is suspended.
    let mut sock = unsafe { socket(client.fd) };
    let carry = client.busy_input.get_or_insert_with(Default::default);
    let mut read = 0;
    let mut chunk = [0u8; 16 * 1024];
    // Past client-query-buffer-limit nothing more is read: the task closes
    // the client when it takes the input over.
    while read < READ_PER_PASS && !conn::over_query_limit(srv, carry.buf.len()) {
        match sock.read(&mut chunk) {
            Ok(n) if n > 0 => {
                carry.buf.extend_from_slice(&chunk[..n]);
                read += n;
            }
            // End of stream, an error or nothing more: the task finds out.
            _ => break,
        }
    }
    if read > 0 {
        srv.stats.net_input_bytes += read as u64;
        client.last_interaction_ms = now_ms();
    }
    let now_s = now_ms() / 1000;
    let mut reqs = Vec::new();
    loop {
        if client.close_after_reply || client.blocked.is_some() || client.is_held() {
            break;
        }
        let limits = Limits {
            max_bulk_len: srv.config.proto_max_bulk_len,
            authenticated: client.authenticated || srv.config.requirepass.is_none(),
        };
        let Some(carry) = client.busy_input.as_deref_mut() else { break };
        super::decode_batch(&mut carry.decoder, &mut carry.buf, limits, PREFETCH_MAX, &mut reqs);
        if reqs.is_empty() {
            break;
        }
        srv.start_batch();
        for req in reqs.drain(..) {
            if client.close_after_reply {
                break;
            }
            executor::run_request(srv, &mut client, req);
            let Some(alive) = close_on_output_limit(srv, client, now_s) else { return };
            client = alive;
        }
    }
    srv.start_batch();
    if !client.out.buf.is_empty() {
        if let Ok(n) = sock.write(&client.out.buf) {
            srv.stats.net_output_bytes += n as u64;
            client.out.buf.advance(n);
        }
    }
    srv.clients.insert(id, client);
}

/// Takes the connections waiting on the listeners, as their accept loops
/// would.
fn accept(srv: &mut Server, listeners: &[Listener], mode: &Mode) {
    for l in listeners {
        for _ in 0..ACCEPT_PER_PASS {
            let accepted = match &l.unix {
                // SAFETY: the listeners live as long as the server, and
                // ManuallyDrop keeps this one from being closed.
                None => unsafe { ManuallyDrop::new(std::net::TcpListener::from_raw_fd(l.fd)) }
                    .accept()
                    .map(|(s, addr)| Accepted::Tcp(s, addr)),
                Some(path) => unsafe { ManuallyDrop::new(std::os::unix::net::UnixListener::from_raw_fd(l.fd)) }
                    .accept()
                    .map(|(s, _)| Accepted::Unix(s, path.clone())),
            };
            match accepted {
                Ok(conn) => admit(srv, mode, conn),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
    }
}

fn admit(srv: &mut Server, mode: &Mode, conn: Accepted) {
    let nonblocking = match &conn {
        Accepted::Tcp(s, _) => {
            set_keepalive(s.as_raw_fd(), srv.config.tcp_keepalive);
            s.set_nonblocking(true)
        }
        Accepted::Unix(s, _) => s.set_nonblocking(true),
    };
    if let Err(e) = nonblocking {
        tracing::warn!("Accepting client connection: {e}");
        return;
    }
    let registered = match (mode, conn) {
        (Mode::Threads { dispatch, .. }, conn) => {
            dispatch.send(conn);
            Ok(())
        }
        (Mode::Local(shared), conn) => {
            let Some(shared) = shared.upgrade() else { return };
            match conn {
                Accepted::Tcp(s, addr) => tokio::net::TcpStream::from_std(s).map(|stream| {
                    let _ = stream.set_nodelay(true);
                    let peer = Peer::tcp(&stream, addr);
                    conn::start(srv, &shared, stream, peer);
                }),
                Accepted::Unix(s, path) => tokio::net::UnixStream::from_std(s).map(|stream| {
                    let peer = Peer::unix(&path, stream.as_raw_fd());
                    conn::start(srv, &shared, stream, peer);
                }),
            }
        }
    };
    if let Err(e) = registered {
        tracing::warn!("Registering client connection: {e}");
    }
}
