//! One task per connection on the executor's own thread (the default,
//! `io-threads 1`): read requests, run each batch on the shared server,
//! write the replies with one write per batch. The task also wakes when the
//! executor pushes output to the client (MONITOR, pub/sub), kills it, or
//! ends the CLIENT PAUSE that holds one of its commands.

use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use super::client::{Client, Outlet};
use super::Shared;
use crate::executor::{self, Request, Server};
use crate::protocol::{Decoder, Limits};
use crate::util::now_ms;

/// Initial size of the read and write buffers, as Redis's PROTO_IOBUF_LEN.
pub const IOBUF_LEN: usize = 16 * 1024;
/// Buffers grown past this by a big request or reply are given back.
pub const SHRINK_ABOVE: usize = 1024 * 1024;
/// What a refused connection is told, as Redis.
pub const MAX_CLIENTS_REACHED: &[u8] = b"-ERR max number of clients reached\r\n";

/// Registers a new client unless `maxclients` is reached (then counts the
/// rejection and returns None), as Redis's `acceptCommonHandler`.
pub fn admit(srv: &mut Server, peer: String, laddr: String, fd: i32, outlet: Outlet) -> Option<u64> {
    if srv.clients.len() >= srv.config.maxclients {
        srv.stats.rejected_connections += 1;
        return None;
    }
    srv.stats.connections += 1;
    let id = srv.next_client_id;
    srv.next_client_id += 1;
    let authenticated = srv.config.requirepass.is_none();
    let mut client = Box::new(Client::new(id, peer, laddr, fd, authenticated));
    client.outlet = outlet;
    srv.clients.insert(id, client);
    Some(id)
}

/// Whether a query buffer this long is over `client-query-buffer-limit`
/// (at least 1mb: shorter ones are never checked against the config).
fn over_query_limit(srv: &Server, len: usize) -> bool {
    len > SHRINK_ABOVE && len as i64 > srv.conn_settings().query_limit
}

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
        let notify = Rc::new(Notify::new());
        let outlet = Outlet::Local(notify.clone());
        let admitted = admit(&mut shared.borrow_mut(), peer.to_string(), laddr, stream.as_raw_fd(), outlet);
        match admitted {
            Some(id) => {
                tracing::debug!("Accepted {peer}");
                tokio::task::spawn_local(serve(shared.clone(), stream, id, notify));
            }
            // Best effort, as Redis: the socket is new, the kernel buffer empty.
            None => {
                let _ = stream.try_write(MAX_CLIENTS_REACHED);
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
}

async fn serve(shared: Shared, mut stream: TcpStream, id: u64, notify: Rc<Notify>) {
    let mut conn = Conn {
        id,
        decoder: Decoder::new(),
        rbuf: BytesMut::with_capacity(IOBUF_LEN),
        wbuf: BytesMut::with_capacity(IOBUF_LEN),
    };
    loop {
        // New input, or a wake-up: output pushed, held commands released, or
        // killed (then process finds the client gone).
        let read = tokio::select! {
            r = stream.read_buf(&mut conn.rbuf) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
            _ = notify.notified() => 0,
        };
        let Some(close) = process(&shared, &mut conn, read) else { break };
        // appendfsync always: no reply before the writes are on disk.
        let gate = shared.borrow().persistence.aof.fsync_gate();
        if let Some((mut synced, upto)) = gate {
            let _ = synced.wait_for(|&at| at >= upto).await;
        }
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

/// Runs the held requests and then those in the read buffer, until one is
/// held by CLIENT PAUSE or more bytes are needed. The output ends up in
/// `conn.wbuf`. Returns whether to close after writing it, or None when the
/// client is gone (killed) or over its query buffer limit.
fn process(shared: &Shared, conn: &mut Conn, read: usize) -> Option<bool> {
    let mut guard = shared.borrow_mut();
    let srv = &mut *guard;
    if over_query_limit(srv, conn.rbuf.len()) {
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
    if executor::run_held(srv, &mut client) {
        while !client.close_after_reply {
            let limits = Limits {
                max_bulk_len: srv.config.proto_max_bulk_len,
                authenticated: client.authenticated || srv.config.requirepass.is_none(),
            };
            let req = match conn.decoder.decode(&mut conn.rbuf, limits) {
                Ok(Some(args)) => Request::Command(args),
                Ok(None) => break,
                Err(e) => Request::ProtocolError(e.0),
            };
            if !executor::run_request(srv, &mut client, req) {
                break;
            }
        }
    }
    srv.start_batch();
    client.qbuf = conn.rbuf.len();
    client.qbuf_free = conn.rbuf.capacity() - conn.rbuf.len();
    std::mem::swap(&mut conn.wbuf, &mut client.out.buf);
    client.reply_peak = conn.wbuf.len();
    srv.stats.net_output_bytes += conn.wbuf.len() as u64;
    let close = client.close_after_reply;
    srv.clients.insert(conn.id, client);
    Some(close)
}
