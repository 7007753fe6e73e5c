//! One task per connection on the executor's own thread (the default,
//! `io-threads 1`): read requests, run each batch on the shared server,
//! write the replies with one write per batch. The task also wakes when the
//! executor pushes output to the client (MONITOR, pub/sub), kills it, or
//! ends the CLIENT PAUSE that holds one of its commands.

use std::cell::{Cell, RefCell};
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener};

use super::client::{Client, Outlet, Wakeup, Wire};
use super::Shared;
use crate::config::Config;
use crate::executor::{self, Request, Server};
use crate::protocol::{Decoder, Limits};
use crate::types::dict::PREFETCH_MAX;
use crate::util::now_ms;

/// Initial size of the read and write buffers, as Redis's PROTO_IOBUF_LEN.
pub const IOBUF_LEN: usize = 16 * 1024;
/// Buffers grown past this by a big request or reply are given back.
pub const SHRINK_ABOVE: usize = 1024 * 1024;
/// What a refused connection is told, as Redis.
pub const MAX_CLIENTS_REACHED: &[u8] = b"-ERR max number of clients reached\r\n";
/// What a client from another host is told in protected mode (Redis 7.0's
/// text, typos included), before the connection is closed.
pub const PROTECTED_MODE_DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Where a connection comes from, as CLIENT LIST shows it.
pub struct Peer {
    pub addr: String,
    pub laddr: String,
    pub fd: i32,
    /// A unix socket connection (always local).
    pub unix: bool,
}

impl Peer {
    pub fn tcp(stream: &TcpStream, peer: std::net::SocketAddr) -> Peer {
        let laddr = stream.local_addr().map(|a| a.to_string()).unwrap_or_default();
        Peer { addr: peer.to_string(), laddr, fd: stream.as_raw_fd(), unix: false }
    }

    /// Redis names both ends of a unix socket connection `path:0`.
    pub fn unix(path: &str, fd: i32) -> Peer {
        Peer { addr: format!("{path}:0"), laddr: format!("{path}:0"), fd, unix: true }
    }

    fn ip(&self) -> Option<IpAddr> {
        if self.unix {
            return None;
        }
        self.addr.parse::<std::net::SocketAddr>().ok().map(|a| a.ip())
    }
}

/// Whether protected mode refuses a client from `ip` (None: a unix
/// socket): it is on, the default user has no password, and the client is
/// not local, which for Redis 7.0 means exactly 127.0.0.1 or ::1 (not the
/// rest of 127.0.0.0/8), whatever `bind` says.
pub fn protected_mode_refuses(config: &Config, ip: Option<IpAddr>) -> bool {
    let Some(ip) = ip else { return false };
    let local = match ip {
        IpAddr::V4(v4) => v4 == std::net::Ipv4Addr::LOCALHOST,
        IpAddr::V6(v6) => v6 == std::net::Ipv6Addr::LOCALHOST,
    };
    !local && config.protected_mode_active()
}

/// Registers a new client, or refuses it with the message to write before
/// closing (and counts the rejection): `maxclients` reached, then
/// protected mode, as Redis's `acceptCommonHandler` and
/// `clientAcceptHandler`.
pub fn admit(srv: &mut Server, peer: Peer, outlet: Outlet, wire: Arc<Wire>) -> Result<u64, &'static [u8]> {
    if srv.clients.len() >= srv.config.maxclients {
        srv.stats.rejected_connections += 1;
        return Err(MAX_CLIENTS_REACHED);
    }
    if protected_mode_refuses(&srv.config, peer.ip()) {
        srv.stats.rejected_connections += 1;
        return Err(PROTECTED_MODE_DENIED);
    }
    srv.stats.connections += 1;
    let id = srv.next_client_id;
    srv.next_client_id += 1;
    let authenticated = srv.config.requirepass.is_none();
    let mut client = Box::new(Client::new(id, peer.addr, peer.laddr, peer.fd, authenticated));
    client.outlet = outlet;
    client.wire = wire;
    client.unix = peer.unix;
    srv.clients.insert(id, client);
    Ok(id)
}

/// Whether a query buffer this long is over `client-query-buffer-limit`
/// (at least 1mb: shorter ones are never checked against the config).
pub(super) fn over_query_limit(srv: &Server, len: usize) -> bool {
    len > SHRINK_ABOVE && len as i64 > srv.config.client_query_buffer_limit
}

/// Leaves room for a full read, as Redis makes room for PROTO_IOBUF_LEN in
/// the query buffer before each read. Requests split off the front take
/// the buffer's spare capacity with them: reading into what is left (down
/// to 64 bytes) would cut a pipeline in two, costing a reply and a read
/// more. Once those requests are dropped, this moves the unread bytes back
/// to the start of the same allocation: IOBUF_LEN in all, a partial request
/// included (a longer one grows the buffer as it arrives).
pub(super) fn room_to_read(rbuf: &mut BytesMut) {
    if rbuf.len() < IOBUF_LEN {
        rbuf.reserve(IOBUF_LEN - rbuf.len());
    }
}

/// Turns on TCP keepalive probes after `interval` idle seconds, as Redis's
/// `anetKeepAlive` (probes every interval/3 seconds, 3 of them).
pub fn set_keepalive(fd: i32, interval: i64) {
    if interval <= 0 {
        return;
    }
    const SOL_SOCKET: i32 = 1;
    const SO_KEEPALIVE: i32 = 9;
    const IPPROTO_TCP: i32 = 6;
    const TCP_KEEPIDLE: i32 = 4;
    const TCP_KEEPINTVL: i32 = 5;
    const TCP_KEEPCNT: i32 = 6;
    let idle = interval.min(i32::MAX as i64) as i32;
    for (level, name, value) in [
        (SOL_SOCKET, SO_KEEPALIVE, 1),
        (IPPROTO_TCP, TCP_KEEPIDLE, idle),
        (IPPROTO_TCP, TCP_KEEPINTVL, (idle / 3).max(1)),
        (IPPROTO_TCP, TCP_KEEPCNT, 3),
    ] {
        super::set_int_option(fd, level, name, value);
    }
}

/// Waits a little after a failed accept (out of file descriptors and
/// similar) before trying again.
async fn accept_failed(e: std::io::Error) {
    tracing::warn!("Accepting client connection: {e}");
    tokio::time::sleep(Duration::from_millis(10)).await;
}

pub async fn accept_loop(shared: Shared, listener: TcpListener) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                accept_failed(e).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        set_keepalive(stream.as_raw_fd(), shared.borrow().config.tcp_keepalive);
        let peer = Peer::tcp(&stream, peer);
        start(&mut shared.borrow_mut(), &shared, stream, peer);
    }
}

pub async fn accept_unix_loop(shared: Shared, listener: UnixListener, path: String) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let peer = Peer::unix(&path, stream.as_raw_fd());
                start(&mut shared.borrow_mut(), &shared, stream, peer);
            }
            Err(e) => accept_failed(e).await,
        }
    }
}

/// Admits a connection and spawns its task, or tells it why not.
pub fn start<S: AsyncRead + AsyncWrite + Unpin + 'static>(srv: &mut Server, shared: &Shared, stream: S, peer: Peer) {
    let notify = Rc::new(Wakeup::default());
    let wire = Arc::new(Wire::default());
    let outlet = Outlet::Local(notify.clone());
    let addr = peer.addr.clone();
    match admit(srv, peer, outlet, wire.clone()) {
        Ok(id) => {
            tracing::debug!("Accepted {addr}");
            tokio::task::spawn_local(serve(shared.clone(), stream, id, notify, wire));
        }
        Err(msg) => {
            tokio::task::spawn_local(refuse(stream, msg));
        }
    }
}

/// Best effort, as Redis: the socket is new, its kernel buffer empty.
async fn refuse<S: AsyncWrite + Unpin>(mut stream: S, msg: &'static [u8]) {
    let write = stream.write_all(msg);
    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
    let _ = stream.shutdown().await;
}

/// When connections write: once every connection made ready by the same
/// poll of the sockets has run its requests, the replies go out together,
/// as Redis writes them all before it sleeps. A client woken by one write
/// is then still awake for the next instead of costing a wake-up (an IPI)
/// per write. tokio's `yield_now` would wait for a poll of the sockets in
/// between, an epoll_wait more per pass.
struct WriteTurn {
    /// The connections waiting for this turn.
    waiting: RefCell<Vec<Waker>>,
    /// Wakes the task that opens the turn, queued behind every connection
    /// already woken.
    opener: Wakeup,
}

thread_local! {
    static WRITE_TURN: Rc<WriteTurn> =
        Rc::new(WriteTurn { waiting: RefCell::new(Vec::new()), opener: Wakeup::default() });
}

impl WriteTurn {
    /// Completes at the next turn.
    fn wait(self: &Rc<Self>) -> impl std::future::Future<Output = ()> {
        let turn = self.clone();
        let mut queued = false;
        std::future::poll_fn(move |cx| {
            if queued {
                return Poll::Ready(());
            }
            queued = true;
            let mut waiting = turn.waiting.borrow_mut();
            if waiting.is_empty() {
                turn.opener.notify_one();
            }
            waiting.push(cx.waker().clone());
            Poll::Pending
        })
    }
}

/// The task that opens each write turn (io-threads 1).
pub async fn open_write_turns() {
    let turn = WRITE_TURN.with(Rc::clone);
    let mut opening = Vec::new();
    loop {
        turn.opener.notified().await;
        std::mem::swap(&mut opening, &mut *turn.waiting.borrow_mut());
        for waker in opening.drain(..) {
            waker.wake();
        }
    }
}

/// How long at most the executor thread keeps polling the sockets after
/// the last request before it sleeps in epoll_wait. A sleeping thread
/// must be woken by the client's next write, and on a virtual machine that
/// wake-up (an IPI) costs the client more than the request costs the
/// server: while requests come in quick succession, polling without
/// sleeping is cheaper for both.
const POLL_BEFORE_SLEEP: Duration = Duration::from_micros(100);

/// Below this the poller does not poll at all.
const POLL_MIN: Duration = Duration::from_micros(5);

/// Requests seen on this thread, and the poller parked for want of them.
struct Activity {
    passes: Cell<u64>,
    parked: Cell<Option<Waker>>,
}

thread_local! {
    static ACTIVITY: Activity = const { Activity { passes: Cell::new(0), parked: Cell::new(None) } };
}

/// Counts a connection's pass and wakes the poller if it sleeps.
fn note_activity() {
    ACTIVITY.with(|a| {
        a.passes.set(a.passes.get().wrapping_add(1));
        if let Some(waker) = a.parked.take() {
            waker.wake();
        }
    });
}

/// The task that keeps the thread polling the sockets while requests keep
/// coming (io-threads 1): it yields, which makes the runtime poll the
/// sockets without sleeping, until its window passes without a request,
/// then parks until the next one. The window adapts so that polling costs
/// nothing when requests are sparse: a sleep shorter than the longest
/// window (one polling would have spared) restores it, a longer one halves
/// it, down to not polling.
pub async fn poll_while_busy() {
    let mut window = POLL_BEFORE_SLEEP;
    loop {
        let slept = Instant::now();
        let mut parked = false;
        std::future::poll_fn(|cx| {
            if parked {
                return Poll::Ready(());
            }
            parked = true;
            ACTIVITY.with(|a| a.parked.set(Some(cx.waker().clone())));
            Poll::Pending
        })
        .await;
        window = next_window(window, slept.elapsed());
        if window < POLL_MIN {
            continue;
        }
        let mut seen = ACTIVITY.with(|a| a.passes.get());
        let mut since = Instant::now();
        loop {
            tokio::task::yield_now().await;
            let passes = ACTIVITY.with(|a| a.passes.get());
            if passes != seen {
                seen = passes;
                since = Instant::now();
            } else if since.elapsed() >= window {
                break;
            }
        }
    }
}

/// The poller's window after a sleep of `slept`.
fn next_window(window: Duration, slept: Duration) -> Duration {
    if slept < POLL_BEFORE_SLEEP {
        POLL_BEFORE_SLEEP
    } else {
        window / 2
    }
}

/// The connection side of one client.
struct Conn {
    id: u64,
    decoder: Decoder,
    rbuf: BytesMut,
    wbuf: BytesMut,
    /// Requests decoded but not yet run, kept for its capacity.
    window: Vec<Request>,
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    shared: Shared,
    mut stream: S,
    id: u64,
    notify: Rc<Wakeup>,
    wire: Arc<Wire>,
) {
    let mut conn = Conn {
        id,
        decoder: Decoder::new(),
        rbuf: BytesMut::with_capacity(IOBUF_LEN),
        wbuf: BytesMut::with_capacity(IOBUF_LEN),
        window: Vec::with_capacity(PREFETCH_MAX),
    };
    loop {
        // New input, or a wake-up: output pushed, held commands released, or
        // killed (then process finds the client gone).
        room_to_read(&mut conn.rbuf);
        let read = tokio::select! {
            r = stream.read_buf(&mut conn.rbuf) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
            _ = notify.notified() => 0,
        };
        let Some(close) = process(&shared, &mut conn, read) else { break };
        note_activity();
        // Counted as unsent from now on, so that server::busy never writes
        // to the socket ahead of it.
        if !conn.wbuf.is_empty() {
            wire.handed(conn.wbuf.len());
        }
        // appendfsync always: no reply before the writes are on disk.
        let gate = shared.borrow().persistence.aof.fsync_gate();
        if let Some((mut synced, upto)) = gate {
            let _ = synced.wait_for(|&at| at >= upto).await;
        }
        if !conn.wbuf.is_empty() {
            WRITE_TURN.with(|turn| turn.wait()).await;
            // Until written, the output counts against the client's limits;
            // a kill ends the wait.
            if !wire.write(&mut stream, &conn.wbuf).await {
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

/// Redis's `closeClientOnOutputBufferLimitReached`: whether the client
/// just went over its output buffer limit, and if so kills it (its
/// pending output is dropped) and counts it.
pub fn close_on_output_limit(srv: &mut Server, mut client: Box<Client>, now_s: i64) -> Option<Box<Client>> {
    if !client.output_limit_reached(&srv.config.obuf_limits, || now_s) {
        return Some(client);
    }
    let mut info = String::new();
    client.write_info(&mut info, now_ms(), 0);
    tracing::warn!("Client {info} scheduled to be closed ASAP for overcoming of output buffer limits.");
    srv.stats.output_buffer_limit_disconnections += 1;
    let id = client.id;
    srv.clients.insert(id, client);
    srv.kill_client(id);
    None
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
    // Input read for it while a script ran (server::busy) comes first.
    if let Some(carry) = client.busy_input.take() {
        let fresh = std::mem::replace(&mut conn.rbuf, carry.buf);
        conn.rbuf.extend_from_slice(&fresh);
        conn.decoder = carry.decoder;
    }
    let now = now_ms();
    let now_s = now / 1000;
    if read > 0 {
        srv.stats.net_input_bytes += read as u64;
        client.last_interaction_ms = now;
    }
    // As in Redis, the query buffer still holds the batch while it runs.
    client.qbuf = conn.rbuf.len();
    client.qbuf_free = conn.rbuf.capacity() - conn.rbuf.len();
    srv.start_batch();
    if executor::run_held(srv, &mut client) {
        // A window of requests at a time, their keys prefetched together.
        let mut window = std::mem::take(&mut conn.window);
        while !client.close_after_reply && !client.is_held() {
            let limits = Limits {
                max_bulk_len: srv.config.proto_max_bulk_len,
                authenticated: client.authenticated || srv.config.requirepass.is_none(),
            };
            super::decode_batch(&mut conn.decoder, &mut conn.rbuf, limits, PREFETCH_MAX, &mut window);
            if window.is_empty() {
                break;
            }
            executor::prefetch_keys(srv, &client, &window);
            // Once one request is held (a pause) or blocks, run_request
            // queues those after it in order.
            for req in window.drain(..) {
                if client.close_after_reply {
                    break;
                }
                executor::run_request(srv, &mut client, req);
                client = close_on_output_limit(srv, client, now_s)?;
            }
        }
        // Drained: only its capacity goes back.
        conn.window = window;
    }
    srv.start_batch();
    client.qbuf = conn.rbuf.len();
    client.qbuf_free = conn.rbuf.capacity() - conn.rbuf.len();
    client.input_idle = conn.rbuf.is_empty() && !conn.decoder.in_progress();
    std::mem::swap(&mut conn.wbuf, &mut client.out.buf);
    client.message_woken = false;
    client.reply_peak = conn.wbuf.len();
    srv.stats.net_output_bytes += conn.wbuf.len() as u64;
    let close = client.close_after_reply;
    srv.clients.insert(conn.id, client);
    Some(close)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Requests split off the front, a partial one left behind: every read
    /// still gets the whole buffer but that partial request, and the
    /// allocation is reused rather than grown.
    #[test]
    fn every_read_has_a_full_buffer_of_room() {
        let mut rbuf = BytesMut::with_capacity(IOBUF_LEN);
        for round in 0..200 {
            room_to_read(&mut rbuf);
            assert_eq!(rbuf.capacity(), IOBUF_LEN, "round {round}");
            rbuf.extend_from_slice(&[b'x'; 600]);
            let requests = rbuf.split_to(rbuf.len() - 10);
            drop(requests);
        }
    }

    #[test]
    fn poller_window_shrinks_with_long_sleeps_and_returns_with_short_ones() {
        let long = POLL_BEFORE_SLEEP * 10;
        let mut window = POLL_BEFORE_SLEEP;
        let mut halvings = 0;
        while window >= POLL_MIN {
            window = next_window(window, long);
            halvings += 1;
        }
        assert!(halvings <= 5, "sparse requests stop the polling after {halvings} sleeps");
        assert_eq!(next_window(window, POLL_BEFORE_SLEEP / 2), POLL_BEFORE_SLEEP);
    }

    fn poller_parked() -> bool {
        ACTIVITY.with(|a| {
            let waker = a.parked.take();
            let parked = waker.is_some();
            a.parked.set(waker);
            parked
        })
    }

    /// Once requests stop, the poller sleeps instead of spinning on.
    #[test]
    fn poller_parks_when_requests_stop() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async {
            tokio::task::spawn_local(poll_while_busy());
            tokio::task::yield_now().await;
            assert!(poller_parked(), "no request yet");
            note_activity();
            tokio::task::yield_now().await;
            assert!(!poller_parked(), "polling after a request");
            tokio::time::sleep(POLL_BEFORE_SLEEP * 20).await;
            assert!(poller_parked(), "asleep once requests stopped");
        });
    }

    /// Connections woken together all run before any of them writes, and
    /// then write in the order they ran.
    #[test]
    fn write_turn_comes_after_every_ready_connection() {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let local = tokio::task::LocalSet::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        local.block_on(&rt, async {
            tokio::task::spawn_local(open_write_turns());
            let tasks: Vec<_> = (0..3)
                .map(|i| {
                    let log = log.clone();
                    tokio::task::spawn_local(async move {
                        log.borrow_mut().push(format!("ran {i}"));
                        WRITE_TURN.with(|turn| turn.wait()).await;
                        log.borrow_mut().push(format!("wrote {i}"));
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        });
        assert_eq!(*log.borrow(), ["ran 0", "ran 1", "ran 2", "wrote 0", "wrote 1", "wrote 2"]);
    }
}
