//! One task per connection: read requests, run each batch on the shared
//! server, write the replies with one write per batch. The task also wakes
//! for pushes written to the client's buffer by other clients, for its own
//! kill, and for the end of a CLIENT PAUSE holding one of its commands.

use std::os::fd::AsRawFd;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::client::Client;
use super::Shared;
use crate::executor::{self, Flow, Server};
use crate::protocol::{Decoder, Limits};
use crate::util::now_ms;

/// Initial size of the read and write buffers, as Redis's PROTO_IOBUF_LEN.
const IOBUF_LEN: usize = 16 * 1024;
/// Buffers grown past this by a big request or reply are given back.
const SHRINK_ABOVE: usize = 1024 * 1024;

pub async fn accept_loop(shared: Shared, listener: TcpListener) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // Out of file descriptors and similar: wait a little, go on.
                tracing::warn!("Accepting client connection: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let laddr = stream.local_addr().map(|a| a.to_string()).unwrap_or_default();
        let admitted = {
            let mut srv = shared.borrow_mut();
            if srv.clients.len() >= srv.config.maxclients {
                srv.stats.rejected_connections += 1;
                None
            } else {
                srv.stats.connections += 1;
                let id = srv.next_client_id;
                srv.next_client_id += 1;
                let authenticated = srv.config.requirepass.is_none();
                let client = Box::new(Client::new(id, peer.to_string(), laddr, stream.as_raw_fd(), authenticated));
                srv.clients.insert(id, client);
                Some(id)
            }
        };
        match admitted {
            Some(id) => {
                tracing::debug!("Accepted {peer}");
                tokio::task::spawn_local(serve(shared.clone(), stream, id));
            }
            // Best effort, as Redis: the socket is new, the kernel buffer empty.
            None => {
                let _ = stream.try_write(b"-ERR max number of clients reached\r\n");
            }
        }
    }
}

/// The connection side of one client.
struct Conn {
    id: u64,
    decoder: Decoder,
    rbuf: BytesMut,
    wbuf: BytesMut,
    /// A command CLIENT PAUSE holds; it runs before anything read after it.
    held: Option<Vec<Bytes>>,
}

/// What woke the connection task.
enum Wake {
    /// `n` new bytes in the read buffer.
    Input(usize),
    /// Output was pushed to the client, or it was killed.
    Pushed,
    /// The pause holding our command may be over.
    Unpaused,
}

async fn serve(shared: Shared, mut stream: TcpStream, id: u64) {
    let (notify, pause_notify) = {
        let srv = shared.borrow();
        match srv.clients.get(&id) {
            Some(c) => (c.notify.clone(), srv.pause_notify.clone()),
            None => return,
        }
    };
    let mut conn = Conn {
        id,
        decoder: Decoder::new(),
        rbuf: BytesMut::with_capacity(IOBUF_LEN),
        wbuf: BytesMut::with_capacity(IOBUF_LEN),
        held: None,
    };
    loop {
        // Only while a command is held: how long the pause still lasts.
        let pause_left = conn.held.as_ref().map(|_| {
            let until = shared.borrow().pause_until_ms;
            Duration::from_millis((until - now_ms()).max(0) as u64)
        });
        let wake = tokio::select! {
            r = stream.read_buf(&mut conn.rbuf) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => Wake::Input(n),
            },
            _ = notify.notified() => Wake::Pushed,
            _ = pause_notify.notified(), if pause_left.is_some() => Wake::Unpaused,
            _ = tokio::time::sleep(pause_left.unwrap_or_default()), if pause_left.is_some() => Wake::Unpaused,
        };
        let close = match wake {
            Wake::Input(n) => match process(&shared, &mut conn, n) {
                Some(close) => close,
                None => break,
            },
            Wake::Unpaused => match process(&shared, &mut conn, 0) {
                Some(close) => close,
                None => break,
            },
            Wake::Pushed => {
                let mut srv = shared.borrow_mut();
                // Gone from the server: it was killed.
                let Some(client) = srv.clients.get_mut(&id) else { break };
                std::mem::swap(&mut conn.wbuf, &mut client.out.buf);
                let close = client.close_after_reply;
                srv.stats.net_output_bytes += conn.wbuf.len() as u64;
                close
            }
        };
        if !conn.wbuf.is_empty() {
            if stream.write_all(&conn.wbuf).await.is_err() {
                break;
            }
            conn.wbuf.clear();
            if conn.wbuf.capacity() > SHRINK_ABOVE {
                conn.wbuf = BytesMut::with_capacity(IOBUF_LEN);
            }
        }
        if close {
            break;
        }
        // Keep the read buffer from holding a huge allocation after a big request.
        if conn.rbuf.is_empty() && conn.rbuf.capacity() > SHRINK_ABOVE {
            conn.rbuf = BytesMut::with_capacity(IOBUF_LEN);
        }
    }
    let _ = stream.shutdown().await;
    shared.borrow_mut().unlink_client(id);
}

/// Runs the held command and then the requests in the read buffer, until
/// one is held by CLIENT PAUSE or more bytes are needed. The replies end up
/// in `conn.wbuf`. Returns whether to close after writing them, or None when
/// the client is gone (killed) or over its query buffer limit.
fn process(shared: &Shared, conn: &mut Conn, read: usize) -> Option<bool> {
    let mut guard = shared.borrow_mut();
    let srv = &mut *guard;
    if conn.rbuf.len() > SHRINK_ABOVE && conn.rbuf.len() as i64 > query_buffer_limit(srv) {
        tracing::warn!("Closing client that reached max query buffer length: id={}", conn.id);
        return None;
    }
    let mut client = srv.clients.remove(&conn.id)?;
    if read > 0 {
        srv.stats.net_input_bytes += read as u64;
        client.last_interaction_ms = now_ms();
    }
    // As in Redis, the query buffer still holds the batch while it runs.
    client.qbuf = conn.rbuf.len();
    client.qbuf_free = conn.rbuf.capacity() - conn.rbuf.len();
    srv.start_batch();
    let mut close = client.close_after_reply;
    if let Some(args) = conn.held.take() {
        if executor::execute(srv, &mut client, &args) == Flow::Postponed {
            conn.held = Some(args);
        }
        close = client.close_after_reply;
    }
    while !close && conn.held.is_none() {
        let limits = Limits {
            max_bulk_len: srv.config.proto_max_bulk_len,
            authenticated: client.authenticated || srv.config.requirepass.is_none(),
        };
        match conn.decoder.decode(&mut conn.rbuf, limits) {
            Ok(Some(args)) => {
                if executor::execute(srv, &mut client, &args) == Flow::Postponed {
                    client.argv_mem = args.iter().map(|a| a.len()).sum();
                    conn.held = Some(args);
                }
                close = client.close_after_reply;
            }
            Ok(None) => break,
            Err(e) => {
                protocol_error(srv, &mut client, &e.0);
                close = true;
            }
        }
    }
    srv.start_batch();
    if conn.held.is_none() {
        client.paused = false;
        client.argv_mem = 0;
    }
    client.qbuf = conn.rbuf.len();
    client.qbuf_free = conn.rbuf.capacity() - conn.rbuf.len();
    std::mem::swap(&mut conn.wbuf, &mut client.out.buf);
    client.reply_peak = conn.wbuf.len();
    srv.stats.net_output_bytes += conn.wbuf.len() as u64;
    srv.clients.insert(conn.id, client);
    Some(close)
}

/// Replies to a malformed request and marks the client for closing, as
/// Redis's `setProtocolError`.
fn protocol_error(srv: &mut Server, client: &mut Client, msg: &str) {
    tracing::debug!("Protocol error ({msg}) from client: id={} addr={}", client.id, client.addr);
    client.close_after_reply = true;
    if client.reply_off || client.reply_skip {
        return;
    }
    client.out.error(&format!("ERR {msg}"));
    *srv.stats.errors.entry("ERR".into()).or_default() += 1;
    srv.stats.total_error_replies += 1;
}

fn query_buffer_limit(srv: &Server) -> i64 {
    srv.config.get("client-query-buffer-limit").and_then(|v| v.parse().ok()).unwrap_or(1 << 30)
}
