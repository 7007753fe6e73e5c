//! `io-threads N > 1`: connection tasks run on N-1 I/O threads, each its
//! own event loop. A connection reads and decodes whatever arrived into one
//! batch, sends the whole batch to the executor thread, and writes back the
//! output it receives; the executor runs batches one at a time, encoding
//! replies as with one thread. Crossing threads costs a wake-up per batch,
//! so this pays off with many busy connections and cores to spare.
//!
//! While CLIENT PAUSE holds a batch, its connection waits for the batch to
//! finish (a kill still reaches it).

use std::cell::{Cell, RefCell};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::mpsc;

use super::client::{Outlet, ToConn, Wire};
use super::conn::{admit, close_on_output_limit, room_to_read, set_keepalive, Peer, IOBUF_LEN, SHRINK_ABOVE};
use super::Shared;
use crate::executor::{self, Request, Server};
use crate::protocol::{Decoder, Limits};
use crate::types::dict::PREFETCH_MAX;
use crate::util::now_ms;

/// What connection tasks tell the executor thread.
pub enum ToExecutor {
    /// A new connection; the answer (Done, or Data then Kill) goes to `tx`.
    Connect { peer: Peer, tx: mpsc::UnboundedSender<ToConn>, wire: Arc<Wire> },
    /// Requests read at once, and the read buffer's state for CLIENT LIST.
    Batch { id: u64, reqs: Vec<Request>, read: usize, qbuf: usize, qbuf_free: usize },
    /// Bytes read that complete no request yet (part of a big one): the
    /// client is not idle, and CLIENT LIST shows them in its query buffer.
    Progress { id: u64, read: usize, qbuf: usize, qbuf_free: usize },
    /// The connection is gone.
    Closed { id: u64 },
}

/// An accepted connection on its way to an I/O thread.
pub enum Accepted {
    Tcp(std::net::TcpStream, std::net::SocketAddr),
    Unix(std::os::unix::net::UnixStream, String),
}

/// Hands accepted connections to the I/O threads in turn.
#[derive(Clone)]
pub struct Dispatch {
    threads: Rc<Vec<mpsc::UnboundedSender<Accepted>>>,
    next: Rc<Cell<usize>>,
}

impl Dispatch {
    pub fn send(&self, conn: Accepted) {
        let i = self.next.get();
        self.next.set((i + 1) % self.threads.len());
        let _ = self.threads[i].send(conn);
    }
}

/// What the connections send to the executor, shared with server::busy,
/// which drains it while a script runs long.
pub type Inbox = Rc<RefCell<mpsc::UnboundedReceiver<ToExecutor>>>;

/// Starts the executor's batch loop on this thread and `n` I/O threads,
/// each running its connections on its own event loop.
pub fn start(shared: Shared, n: usize) -> std::io::Result<(Dispatch, Inbox)> {
    let (to_exec, rx) = mpsc::unbounded_channel();
    let inbox: Inbox = Rc::new(RefCell::new(rx));
    tokio::task::spawn_local(executor_loop(shared, inbox.clone()));
    let mut threads = Vec::with_capacity(n);
    for i in 0..n {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (tx, mut conns) = mpsc::unbounded_channel::<Accepted>();
        let to_exec = to_exec.clone();
        std::thread::Builder::new().name(format!("io-thread-{}", i + 1)).spawn(move || {
            rt.block_on(async move {
                while let Some(conn) = conns.recv().await {
                    let registered = match conn {
                        Accepted::Tcp(stream, addr) => TcpStream::from_std(stream).map(|stream| {
                            let _ = stream.set_nodelay(true);
                            let peer = Peer::tcp(&stream, addr);
                            drop(tokio::spawn(serve(stream, peer, to_exec.clone())));
                        }),
                        Accepted::Unix(stream, path) => UnixStream::from_std(stream).map(|stream| {
                            let peer = Peer::unix(&path, stream.as_raw_fd());
                            drop(tokio::spawn(serve(stream, peer, to_exec.clone())));
                        }),
                    };
                    if let Err(e) = registered {
                        tracing::warn!("Registering client connection: {e}");
                    }
                }
            })
        })?;
        threads.push(tx);
    }
    Ok((Dispatch { threads: Rc::new(threads), next: Rc::new(Cell::new(0)) }, inbox))
}

/// Accepts on the executor's thread (a rare, cheap call) and passes each
/// connection to the next I/O thread.
pub async fn accept_loop(shared: Shared, listener: TcpListener, dispatch: Dispatch) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("Accepting client connection: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        set_keepalive(stream.as_raw_fd(), shared.borrow().config.tcp_keepalive);
        let Ok(stream) = stream.into_std() else { continue };
        dispatch.send(Accepted::Tcp(stream, peer));
    }
}

pub async fn accept_unix_loop(listener: UnixListener, path: String, dispatch: Dispatch) {
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!("Accepting client connection: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let Ok(stream) = stream.into_std() else { continue };
        dispatch.send(Accepted::Unix(stream, path.clone()));
    }
}

/// The executor thread's side: runs every batch the connections send.
async fn executor_loop(shared: Shared, inbox: Inbox) {
    while let Some(msg) = std::future::poll_fn(|cx| inbox.borrow_mut().poll_recv(cx)).await {
        let mut srv = shared.borrow_mut();
        handle(&mut srv, msg);
        for later in super::busy::take_deferred() {
            handle(&mut srv, later);
        }
    }
}

/// Runs what one message from a connection asks for.
pub fn handle(srv: &mut Server, msg: ToExecutor) {
    match msg {
        ToExecutor::Connect { peer, tx, wire } => {
            let id = match admit(srv, peer, Outlet::Remote(tx.clone()), wire.clone()) {
                Ok(id) => id,
                Err(msg) => {
                    wire.handed(msg.len());
                    let _ = tx.send(ToConn::Data(BytesMut::from(msg)));
                    let _ = tx.send(ToConn::Kill);
                    return;
                }
            };
            let settings = srv.conn_settings();
            if let Some(client) = srv.clients.get_mut(&id) {
                client.send_done(settings);
            }
        }
        ToExecutor::Batch { id, reqs, read, qbuf, qbuf_free } => {
            // Killed meanwhile: the connection already got Kill.
            let Some(mut client) = srv.clients.remove(&id) else { return };
            srv.stats.net_input_bytes += read as u64;
            client.last_interaction_ms = now_ms();
            client.qbuf = qbuf;
            client.qbuf_free = qbuf_free;
            srv.start_batch();
            let now_s = now_ms() / 1000;
            let mut alive = Some(client);
            let mut reqs = reqs.into_iter();
            while let Some(client) = &alive {
                let window = reqs.as_slice();
                if window.is_empty() {
                    break;
                }
                executor::prefetch_keys(srv, client, &window[..window.len().min(PREFETCH_MAX)]);
                for req in reqs.by_ref().take(PREFETCH_MAX) {
                    let Some(mut client) = alive.take() else { break };
                    if client.close_after_reply {
                        alive = Some(client);
                        break;
                    }
                    executor::run_request(srv, &mut client, req);
                    // Over its output limit: killed, the rest is dropped.
                    alive = close_on_output_limit(srv, client, now_s);
                }
                if alive.as_ref().is_some_and(|c| c.close_after_reply) {
                    break;
                }
            }
            srv.start_batch();
            let Some(mut client) = alive else {
                srv.resume_remote_clients();
                return;
            };
            client.qbuf = 0;
            client.reply_peak = client.out.buf.len();
            srv.stats.net_output_bytes += client.out.buf.len() as u64;
            // A batch a pause holds is done when the pause ends.
            if !client.is_held() {
                match srv.persistence.aof.fsync_gate() {
                    None => client.send_done(srv.conn_settings()),
                    // appendfsync always: the replies leave once the
                    // writes are on disk.
                    Some((mut synced, upto)) => {
                        if let Some((tx, msgs)) = client.done_messages(srv.conn_settings()) {
                            tokio::task::spawn_local(async move {
                                let _ = synced.wait_for(|&at| at >= upto).await;
                                for m in msgs {
                                    let _ = tx.send(m);
                                }
                            });
                        }
                    }
                }
            }
            srv.clients.insert(id, client);
        }
        ToExecutor::Progress { id, read, qbuf, qbuf_free } => {
            if let Some(client) = srv.clients.get_mut(&id) {
                srv.stats.net_input_bytes += read as u64;
                client.last_interaction_ms = now_ms();
                client.qbuf = qbuf;
                client.qbuf_free = qbuf_free;
            }
        }
        ToExecutor::Closed { id } => {
            srv.unlink_client(id);
        }
    }
    // Clients whose blocking command this batch served go on now.
    srv.resume_remote_clients();
}

/// What the connection needs to know to decode: sent with every Done.
#[derive(Clone, Copy)]
struct Settings {
    id: u64,
    limits: Limits,
    query_limit: i64,
}

/// Writes the executor's output until the batch is done; returns the new
/// settings and whether to close, or None when the client is gone. Reads on
/// meanwhile (a blocking command may wait long), so that a peer hanging up
/// is noticed; what arrives stays in `rbuf` and is counted in `read`.
async fn await_done<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    wire: &Wire,
    rx: &mut mpsc::UnboundedReceiver<ToConn>,
    rbuf: &mut BytesMut,
    read: &mut usize,
) -> Option<(Settings, bool)> {
    loop {
        tokio::select! {
            msg = rx.recv() => match msg? {
                ToConn::Data(b) => wire.write(stream, &b).await.then_some(())?,
                ToConn::Done { id, authenticated, max_bulk_len, query_limit, close } => {
                    let limits = Limits { max_bulk_len, authenticated };
                    return Some((Settings { id, limits, query_limit }, close));
                }
                ToConn::Kill => return None,
            },
            r = stream.read_buf(rbuf) => match r {
                Ok(0) | Err(_) => return None,
                Ok(n) => *read += n,
            },
        }
    }
}

/// One connection, on an I/O thread.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    peer: Peer,
    to_exec: mpsc::UnboundedSender<ToExecutor>,
) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let wire = Arc::new(Wire::default());
    let connect = ToExecutor::Connect { peer, tx, wire: wire.clone() };
    if to_exec.send(connect).is_err() {
        return;
    }
    let mut decoder = Decoder::new();
    let mut rbuf = BytesMut::with_capacity(IOBUF_LEN);
    let mut early = 0;
    let Some((mut settings, _)) = await_done(&mut stream, &wire, &mut rx, &mut rbuf, &mut early).await else {
        let _ = stream.shutdown().await;
        return;
    };
    let id = settings.id;
    'conn: loop {
        // Bytes that arrived while the connection was being registered are
        // decoded before reading more.
        let read = if early > 0 {
            0
        } else {
            room_to_read(&mut rbuf);
            tokio::select! {
                r = stream.read_buf(&mut rbuf) => match r {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                },
                msg = rx.recv() => match msg {
                    Some(ToConn::Data(b)) => {
                        if !wire.write(&mut stream, &b).await {
                            break;
                        }
                        continue;
                    }
                    Some(ToConn::Done { .. }) => continue,
                    Some(ToConn::Kill) | None => break,
                },
            }
        };
        if rbuf.len() as i64 > settings.query_limit {
            tracing::warn!("Closing client that reached max query buffer length: id={id}");
            break;
        }
        // Everything complete goes over in one batch (one request at a time
        // until authenticated: AUTH lifts the limits for what follows).
        let mut unsent_read = read + std::mem::take(&mut early);
        loop {
            let qbuf = rbuf.len();
            let mut reqs = Vec::new();
            super::decode_batch(&mut decoder, &mut rbuf, settings.limits, usize::MAX, &mut reqs);
            if reqs.is_empty() {
                break;
            }
            let qbuf_free = rbuf.capacity() - rbuf.len();
            let batch = ToExecutor::Batch { id, reqs, read: std::mem::take(&mut unsent_read), qbuf, qbuf_free };
            if to_exec.send(batch).is_err() {
                break 'conn;
            }
            match await_done(&mut stream, &wire, &mut rx, &mut rbuf, &mut unsent_read).await {
                Some((s, false)) => settings = s,
                Some((_, true)) | None => break 'conn,
            }
        }
        if unsent_read > 0 {
            let qbuf_free = rbuf.capacity() - rbuf.len();
            let progress = ToExecutor::Progress { id, read: unsent_read, qbuf: rbuf.len(), qbuf_free };
            if to_exec.send(progress).is_err() {
                break;
            }
        }
        if rbuf.is_empty() && rbuf.capacity() > SHRINK_ABOVE {
            rbuf = BytesMut::with_capacity(IOBUF_LEN);
        }
    }
    let _ = stream.shutdown().await;
    let _ = to_exec.send(ToExecutor::Closed { id });
}
