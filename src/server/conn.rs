//! One task per connection: read requests, run each batch on the shared
//! server, write the replies. Also wakes on pushes written to the client's
//! buffer by other clients.

use std::os::fd::AsRawFd;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::client::Client;
use super::Shared;
use crate::executor;
use crate::protocol::{Decoder, Limits};

pub async fn accept_loop(shared: Shared, listener: TcpListener) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // Out of file descriptors and similar: wait a little, go on.
                tracing::warn!("Accepting client connection: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let laddr = stream.local_addr().map(|a| a.to_string()).unwrap_or_default();
        let admitted = {
            let mut srv = shared.borrow_mut();
            srv.stats.connections += 1;
            if srv.clients.len() >= srv.config.maxclients {
                srv.stats.rejected_connections += 1;
                None
            } else {
                let id = srv.next_client_id;
                srv.next_client_id += 1;
                let authenticated = srv.config.requirepass.is_none();
                let client = Client::new(id, peer.to_string(), laddr, stream.as_raw_fd(), authenticated);
                srv.clients.insert(id, client);
                Some(id)
            }
        };
        let Some(id) = admitted else {
            let mut stream = stream;
            let _ = stream.write_all(b"-ERR max number of clients reached\r\n").await;
            continue;
        };
        tokio::task::spawn_local(serve(shared.clone(), stream, id));
    }
}

/// Runs the requests in `rbuf` for client `id`. Returns the bytes to write
/// and whether to close the connection afterwards.
fn process(shared: &Shared, id: u64, decoder: &mut Decoder, rbuf: &mut BytesMut, wbuf: &mut BytesMut) -> bool {
    let mut guard = shared.borrow_mut();
    let srv = &mut *guard;
    let Some(mut client) = srv.clients.remove(&id) else { return true };
    srv.stats.net_input_bytes += rbuf.len() as u64;
    let mut close = client.close_after_reply;
    while !close {
        let limits = Limits { max_bulk_len: srv.config.proto_max_bulk_len, authenticated: client.authenticated };
        match decoder.decode(rbuf, limits) {
            Ok(Some(args)) => {
                executor::execute(srv, &mut client, args);
                close = client.close_after_reply;
            }
            Ok(None) => break,
            Err(e) => {
                client.out.error(&format!("ERR {}", e.0));
                *srv.stats.errors.entry("ERR".into()).or_default() += 1;
                srv.stats.total_error_replies += 1;
                tracing::debug!("Protocol error from client {}: {}", client.addr, e.0);
                close = true;
            }
        }
    }
    client.qbuf = rbuf.len();
    std::mem::swap(wbuf, &mut client.out.buf);
    srv.stats.net_output_bytes += wbuf.len() as u64;
    srv.clients.insert(id, client);
    close
}

async fn serve(shared: Shared, mut stream: TcpStream, id: u64) {
    let notify = match shared.borrow().clients.get(&id) {
        Some(c) => c.notify.clone(),
        None => return,
    };
    let mut decoder = Decoder::new();
    let mut rbuf = BytesMut::with_capacity(16 * 1024);
    let mut wbuf = BytesMut::with_capacity(16 * 1024);
    loop {
        let close;
        tokio::select! {
            r = stream.read_buf(&mut rbuf) => match r {
                Ok(0) | Err(_) => break,
                Ok(_) => close = process(&shared, id, &mut decoder, &mut rbuf, &mut wbuf),
            },
            _ = notify.notified() => {
                // Something was pushed to this client, or it was killed.
                let mut srv = shared.borrow_mut();
                let Some(client) = srv.clients.get_mut(&id) else { break };
                std::mem::swap(&mut wbuf, &mut client.out.buf);
                close = client.close_after_reply;
            }
        }
        if !wbuf.is_empty() {
            if stream.write_all(&wbuf).await.is_err() {
                break;
            }
            wbuf.clear();
            // Give memory back after a huge reply.
            if wbuf.capacity() > 1024 * 1024 {
                wbuf = BytesMut::with_capacity(16 * 1024);
            }
        }
        if close {
            break;
        }
        // Keep the read buffer from holding a huge allocation after a big request.
        if rbuf.is_empty() && rbuf.capacity() > 1024 * 1024 {
            rbuf = BytesMut::with_capacity(16 * 1024);
        }
    }
    let _ = stream.shutdown().await;
    shared.borrow_mut().clients.remove(&id);
}
