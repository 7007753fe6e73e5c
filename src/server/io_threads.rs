//! `io-threads N > 1`: connection tasks run on N-1 I/O threads, each its
//! own event loop. A connection reads and decodes whatever arrived into one
//! batch, sends the whole batch to the executor thread, and writes back the
//! output it receives; the executor runs batches one at a time, encoding
//! replies as with one thread. Crossing threads costs a wake-up per batch,
//! so this pays off with many busy connections and cores to spare.
//!
//! While CLIENT PAUSE holds a batch, its connection waits for the batch to
//! finish (a kill still reaches it).

use std::cell::Cell;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::client::{Outlet, ToConn};
use super::conn::{admit, IOBUF_LEN, MAX_CLIENTS_REACHED, SHRINK_ABOVE};
use super::Shared;
use crate::executor::{self, Request};
use crate::protocol::{Decoder, Limits};
use crate::util::now_ms;

/// What connection tasks tell the executor thread.
pub enum ToExecutor {
    /// A new connection; the answer (Done, or Data then Kill) goes to `tx`.
    Connect { peer: String, laddr: String, fd: i32, tx: mpsc::UnboundedSender<ToConn> },
    /// Requests read at once, and the read buffer's state for CLIENT LIST.
    Batch { id: u64, reqs: Vec<Request>, read: usize, qbuf: usize, qbuf_free: usize },
    /// The connection is gone.
    Closed { id: u64 },
}

/// Hands accepted connections to the I/O threads in turn.
#[derive(Clone)]
pub struct Dispatch {
    threads: Rc<Vec<mpsc::UnboundedSender<(std::net::TcpStream, String)>>>,
    next: Rc<Cell<usize>>,
}

/// Starts the executor's batch loop on this thread and `n` I/O threads,
/// each running its connections on its own event loop.
pub fn start(shared: Shared, n: usize) -> std::io::Result<Dispatch> {
    let (to_exec, rx) = mpsc::unbounded_channel();
    tokio::task::spawn_local(executor_loop(shared, rx));
    let mut threads = Vec::with_capacity(n);
    for i in 0..n {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (tx, mut conns) = mpsc::unbounded_channel::<(std::net::TcpStream, String)>();
        let to_exec = to_exec.clone();
        std::thread::Builder::new().name(format!("io-thread-{}", i + 1)).spawn(move || {
            rt.block_on(async move {
                while let Some((stream, peer)) = conns.recv().await {
                    match TcpStream::from_std(stream) {
                        Ok(stream) => drop(tokio::spawn(serve(stream, peer, to_exec.clone()))),
                        Err(e) => tracing::warn!("Registering client connection: {e}"),
                    }
                }
            })
        })?;
        threads.push(tx);
    }
    Ok(Dispatch { threads: Rc::new(threads), next: Rc::new(Cell::new(0)) })
}

/// Accepts on the executor's thread (a rare, cheap call) and passes each
/// connection to the next I/O thread.
pub async fn accept_loop(listener: TcpListener, dispatch: Dispatch) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("Accepting client connection: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let Ok(stream) = stream.into_std() else { continue };
        let i = dispatch.next.get();
        dispatch.next.set((i + 1) % dispatch.threads.len());
        let _ = dispatch.threads[i].send((stream, peer.to_string()));
    }
}

/// The executor thread's side: runs every batch the connections send.
async fn executor_loop(shared: Shared, mut rx: mpsc::UnboundedReceiver<ToExecutor>) {
    while let Some(msg) = rx.recv().await {
        let mut guard = shared.borrow_mut();
        let srv = &mut *guard;
        match msg {
            ToExecutor::Connect { peer, laddr, fd, tx } => {
                let Some(id) = admit(srv, peer, laddr, fd, Outlet::Remote(tx.clone())) else {
                    let _ = tx.send(ToConn::Data(BytesMut::from(MAX_CLIENTS_REACHED)));
                    let _ = tx.send(ToConn::Kill);
                    continue;
                };
                let settings = srv.conn_settings();
                if let Some(client) = srv.clients.get_mut(&id) {
                    client.send_done(settings);
                }
            }
            ToExecutor::Batch { id, reqs, read, qbuf, qbuf_free } => {
                // Killed meanwhile: the connection already got Kill.
                let Some(mut client) = srv.clients.remove(&id) else { continue };
                srv.stats.net_input_bytes += read as u64;
                client.last_interaction_ms = now_ms();
                client.qbuf = qbuf;
                client.qbuf_free = qbuf_free;
                srv.start_batch();
                for req in reqs {
                    if client.close_after_reply {
                        break;
                    }
                    executor::run_request(srv, &mut client, req);
                }
                srv.start_batch();
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
            ToExecutor::Closed { id } => {
                srv.unlink_client(id);
            }
        }
        // Clients whose blocking command this batch served go on now.
        srv.resume_remote_clients();
    }
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
async fn await_done(
    stream: &mut TcpStream,
    rx: &mut mpsc::UnboundedReceiver<ToConn>,
    rbuf: &mut BytesMut,
    read: &mut usize,
) -> Option<(Settings, bool)> {
    loop {
        tokio::select! {
            msg = rx.recv() => match msg? {
                ToConn::Data(b) => stream.write_all(&b).await.ok()?,
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
async fn serve(mut stream: TcpStream, peer: String, to_exec: mpsc::UnboundedSender<ToExecutor>) {
    let _ = stream.set_nodelay(true);
    let laddr = stream.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let connect = ToExecutor::Connect { peer, laddr, fd: stream.as_raw_fd(), tx };
    if to_exec.send(connect).is_err() {
        return;
    }
    let mut decoder = Decoder::new();
    let mut rbuf = BytesMut::with_capacity(IOBUF_LEN);
    let mut early = 0;
    let Some((mut settings, _)) = await_done(&mut stream, &mut rx, &mut rbuf, &mut early).await else {
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
            tokio::select! {
                r = stream.read_buf(&mut rbuf) => match r {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                },
                msg = rx.recv() => match msg {
                    Some(ToConn::Data(b)) => {
                        if stream.write_all(&b).await.is_err() {
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
            let reqs = decode_batch(&mut decoder, &mut rbuf, settings.limits);
            if reqs.is_empty() {
                break;
            }
            let qbuf_free = rbuf.capacity() - rbuf.len();
            let batch = ToExecutor::Batch { id, reqs, read: std::mem::take(&mut unsent_read), qbuf, qbuf_free };
            if to_exec.send(batch).is_err() {
                break 'conn;
            }
            match await_done(&mut stream, &mut rx, &mut rbuf, &mut unsent_read).await {
                Some((s, false)) => settings = s,
                Some((_, true)) | None => break 'conn,
            }
        }
        if rbuf.is_empty() && rbuf.capacity() > SHRINK_ABOVE {
            rbuf = BytesMut::with_capacity(IOBUF_LEN);
        }
    }
    let _ = stream.shutdown().await;
    let _ = to_exec.send(ToExecutor::Closed { id });
}

/// Decodes every complete request in `rbuf`; only one while the client is
/// not authenticated, since AUTH changes the limits for what follows.
fn decode_batch(decoder: &mut Decoder, rbuf: &mut BytesMut, limits: Limits) -> Vec<Request> {
    let mut reqs = Vec::new();
    loop {
        match decoder.decode(rbuf, limits) {
            Ok(Some(args)) => reqs.push(Request::Command(args)),
            Ok(None) => break,
            Err(e) => {
                reqs.push(Request::ProtocolError(e.0));
                break;
            }
        }
        if !limits.authenticated {
            break;
        }
    }
    reqs
}
