//! Per-connection state the executor keeps: selected db, protocol version,
//! name, flags, and the output buffer replies are encoded into.
//!
//! While one of its commands runs, a client is taken out of
//! `Server::clients` (the handler gets it as `ctx.client`); code walking all
//! clients must include `ctx.client` itself.

use std::cell::Cell;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Poll, Waker};

use bytes::BytesMut;
use tokio::sync::mpsc;

use crate::commands::CommandDef;
use crate::config::ObufLimit;
use crate::executor::Request;
use crate::protocol::Out;

/// What the executor tells a connection task running on an I/O thread
/// (`io-threads` > 1).
#[derive(Debug)]
pub enum ToConn {
    /// Bytes to write: replies, pushes, MONITOR lines.
    Data(BytesMut),
    /// The batch sent last is done (also sent once on accept): send the
    /// next one, decoded with these limits; close after writing if asked.
    Done { id: u64, authenticated: bool, max_bulk_len: i64, query_limit: i64, close: bool },
    /// Killed (or refused): close without writing anything more.
    Kill,
}

/// The server settings a connection on an I/O thread decodes with.
#[derive(Clone, Copy, Debug)]
pub struct ConnSettings {
    pub password_required: bool,
    pub max_bulk_len: i64,
    pub query_limit: i64,
}

/// What the executor and a connection task share about output on its way
/// to the socket: how much is still unwritten (it counts against the
/// output buffer limits) and whether the client was killed meanwhile.
#[derive(Default)]
pub struct Wire {
    /// Bytes handed to the connection task and not yet written.
    pub unsent: AtomicUsize,
    /// Chunks of output handed over and not yet fully written.
    pub chunks: AtomicUsize,
    killed: AtomicBool,
    kill: tokio::sync::Notify,
}

impl Wire {
    pub fn handed(&self, bytes: usize) {
        self.unsent.fetch_add(bytes, Ordering::Relaxed);
        self.chunks.fetch_add(1, Ordering::Relaxed);
    }

    pub fn unsent(&self) -> usize {
        self.unsent.load(Ordering::Relaxed)
    }

    /// Makes the connection task drop what it is writing and close.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::Relaxed);
        self.kill.notify_one();
    }

    pub fn killed(&self) -> bool {
        self.killed.load(Ordering::Relaxed)
    }

    /// Writes one chunk handed over with `handed`, counting it down as it
    /// goes. Returns false when the peer is gone or the client was killed:
    /// a peer that never reads cannot hold the task (and the output)
    /// forever.
    pub async fn write<S: tokio::io::AsyncWrite + Unpin>(&self, stream: &mut S, buf: &[u8]) -> bool {
        use tokio::io::AsyncWriteExt;
        let mut pos = 0;
        let ok = loop {
            if pos == buf.len() {
                break true;
            }
            if self.killed() {
                break false;
            }
            tokio::select! {
                biased;
                r = stream.write(&buf[pos..]) => match r {
                    Ok(0) | Err(_) => break false,
                    Ok(n) => {
                        pos += n;
                        self.unsent.fetch_sub(n, Ordering::Relaxed);
                    }
                },
                _ = self.kill.notified() => break false,
            }
        };
        self.unsent.fetch_sub(buf.len() - pos, Ordering::Relaxed);
        self.chunks.fetch_sub(1, Ordering::Relaxed);
        ok
    }
}

/// How the executor reaches a client's connection task.
pub enum Outlet {
    /// The task runs on the executor's thread: wake it and it takes the
    /// output from `Client::out` itself.
    Local(Rc<Wakeup>),
    /// The task runs on an I/O thread: output is sent to it.
    Remote(mpsc::UnboundedSender<ToConn>),
}

/// Wakes a connection task on the executor's thread, as tokio's
/// `Notify::notify_one` would: a wake-up sent while the task is busy is
/// kept until it next waits. Single-threaded, so without Notify's lock and
/// waiter list, which the task would otherwise take and leave once per
/// request.
#[derive(Default)]
pub struct Wakeup {
    pending: Cell<bool>,
    waker: Cell<Option<Waker>>,
}

impl Wakeup {
    pub fn notify_one(&self) {
        self.pending.set(true);
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }

    /// Completes once a wake-up is sent (at once if one is kept).
    pub fn notified(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| {
            if self.pending.replace(false) {
                return Poll::Ready(());
            }
            let waker = match self.waker.take() {
                Some(w) if w.will_wake(cx.waker()) => w,
                _ => cx.waker().clone(),
            };
            self.waker.set(Some(waker));
            Poll::Pending
        })
    }
}

/// Client classes, as CLIENT LIST TYPE / CLIENT KILL TYPE name them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ClientType {
    Normal,
    Replica,
    PubSub,
    Master,
}

impl ClientType {
    /// Redis's `getClientTypeByName`.
    pub fn from_name(name: &[u8]) -> Option<ClientType> {
        let n = name.to_ascii_lowercase();
        match &n[..] {
            b"normal" => Some(ClientType::Normal),
            b"slave" | b"replica" => Some(ClientType::Replica),
            b"pubsub" => Some(ClientType::PubSub),
            b"master" => Some(ClientType::Master),
            _ => None,
        }
    }
}

pub struct Client {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub fd: i32,
    pub name: Option<Vec<u8>>,
    pub lib_name: Option<Vec<u8>>,
    pub lib_ver: Option<Vec<u8>>,
    pub db: usize,
    pub out: Out,
    pub authenticated: bool,
    pub user: String,
    pub ctime_ms: i64,
    /// Last time bytes arrived from the client (CLIENT LIST idle, `timeout`).
    pub last_interaction_ms: i64,
    /// The last command looked up, as (container or command, resolved
    /// command); None after an unknown command. CLIENT LIST's `cmd=`.
    pub last_cmd: Option<(&'static CommandDef, &'static CommandDef)>,
    /// CLIENT REPLY OFF.
    pub reply_off: bool,
    /// Suppress the reply of the command running now (CLIENT REPLY SKIP
    /// was the previous command).
    pub reply_skip: bool,
    /// Set by CLIENT REPLY SKIP: the next command's reply is suppressed.
    pub reply_skip_next: bool,
    /// Close the connection once pending replies are written (QUIT, KILL of
    /// oneself, protocol errors).
    pub close_after_reply: bool,
    pub monitor: bool,
    pub no_evict: bool,
    pub no_touch: bool,
    /// Holding a command until CLIENT PAUSE ends (shown as flag `b`).
    pub paused: bool,
    /// Bytes of the arguments of a command held by CLIENT PAUSE.
    pub argv_mem: usize,
    /// Bytes waiting in the query buffer, and room left in it (CLIENT LIST
    /// qbuf / qbuf-free); kept up to date by the connection task.
    pub qbuf: usize,
    pub qbuf_free: usize,
    /// The connection task holds no input it has not run: no bytes, no
    /// request half decoded (see server::busy).
    pub input_idle: bool,
    /// Input read while a script ran past busy-reply-threshold, for the
    /// connection task to decode first.
    pub busy_input: Option<Box<crate::server::busy::Carry>>,
    /// Largest reply batch written recently (CLIENT LIST rbp).
    pub reply_peak: usize,
    /// Requests read after one CLIENT PAUSE holds (that one first); they
    /// run, in order, when the pause ends.
    pub held: VecDeque<Request>,
    /// The connection task. After writing to `out` from outside this
    /// client's own request (pub/sub, MONITOR, unblocking), call `wake`.
    pub outlet: Outlet,
    /// MULTI/EXEC and WATCH state.
    pub tx: crate::commands::tx::TxState,
    /// What the client waits for while a blocking command is pending.
    pub blocked: Option<crate::executor::blocking::Blocked>,
    /// Set by a re-run of a blocked command that still found nothing.
    pub still_blocked: bool,
    /// Blocking commands answer at once (set while a script runs).
    pub no_block: bool,
    /// Running a script's commands: MONITOR shows them as Redis shows its
    /// script client's, `[db lua]`.
    pub in_script: bool,
    /// The AOF being replayed at start-up: runs while others get -LOADING.
    pub loading_aof: bool,
    /// Pub/Sub channels and patterns it listens to.
    pub subs: crate::commands::pubsub::Subscriptions,
    /// Output handed to the connection task, not yet written.
    pub wire: Arc<Wire>,
    /// Connected through the unix socket (flag `U`).
    pub unix: bool,
    /// A pub/sub message woke the connection task since it last took
    /// `out` (see `wake_for_message`).
    pub message_woken: bool,
    /// When the output went over its class's soft limit (unix seconds, 0 =
    /// it is not over), as Redis's `obuf_soft_limit_reached_time`.
    pub obuf_soft_since_s: i64,
}

impl Client {
    /// A client whose connection task runs on the executor's thread (set
    /// `outlet` for one on an I/O thread).
    pub fn new(id: u64, addr: String, laddr: String, fd: i32, authenticated: bool) -> Self {
        let now = crate::util::now_ms();
        Client {
            id,
            addr,
            laddr,
            fd,
            name: None,
            lib_name: None,
            lib_ver: None,
            db: 0,
            out: Out::new(2),
            authenticated,
            user: "default".into(),
            ctime_ms: now,
            last_interaction_ms: now,
            last_cmd: None,
            reply_off: false,
            reply_skip: false,
            reply_skip_next: false,
            close_after_reply: false,
            monitor: false,
            no_evict: false,
            no_touch: false,
            paused: false,
            argv_mem: 0,
            qbuf: 0,
            qbuf_free: 0,
            input_idle: true,
            busy_input: None,
            message_woken: false,
            reply_peak: 0,
            held: VecDeque::new(),
            outlet: Outlet::Local(Rc::default()),
            tx: Default::default(),
            blocked: None,
            still_blocked: false,
            no_block: false,
            in_script: false,
            loading_aof: false,
            subs: Default::default(),
            wire: Default::default(),
            unix: false,
            obuf_soft_since_s: 0,
        }
    }

    /// `wake` for a pub/sub message just pushed: a task on this thread
    /// that a message already woke, and that has not taken its output
    /// since (`message_woken`), takes this one with it.
    pub fn wake_for_message(&mut self) {
        if let Outlet::Local(notify) = &self.outlet {
            if !self.message_woken {
                self.message_woken = true;
                notify.notify_one();
            }
            return;
        }
        self.wake();
    }

    /// Has the connection task write what is in `out`.
    pub fn wake(&mut self) {
        match &self.outlet {
            Outlet::Local(notify) => notify.notify_one(),
            Outlet::Remote(tx) => {
                if !self.out.buf.is_empty() {
                    self.wire.handed(self.out.buf.len());
                    let _ = tx.send(ToConn::Data(self.out.buf.split()));
                }
            }
        }
    }

    /// Hands an I/O-thread connection the output of a finished batch.
    pub fn send_done(&mut self, settings: ConnSettings) {
        if let Some((tx, msgs)) = self.done_messages(settings) {
            for m in msgs {
                let _ = tx.send(m);
            }
        }
    }

    /// What `send_done` sends, to send later (after an fsync).
    pub fn done_messages(&mut self, settings: ConnSettings) -> Option<(mpsc::UnboundedSender<ToConn>, Vec<ToConn>)> {
        let Outlet::Remote(tx) = &self.outlet else { return None };
        let mut msgs = Vec::with_capacity(2);
        if !self.out.buf.is_empty() {
            self.wire.handed(self.out.buf.len());
            msgs.push(ToConn::Data(self.out.buf.split()));
        }
        msgs.push(ToConn::Done {
            id: self.id,
            authenticated: self.authenticated || !settings.password_required,
            max_bulk_len: settings.max_bulk_len,
            query_limit: settings.query_limit,
            close: self.close_after_reply,
        });
        Some((tx.clone(), msgs))
    }

    /// Closes the connection of a client already removed from the server;
    /// its pending output is dropped.
    pub fn close_now(&self) {
        self.wire.kill();
        match &self.outlet {
            // The task wakes and finds its client gone.
            Outlet::Local(notify) => notify.notify_one(),
            Outlet::Remote(tx) => {
                let _ = tx.send(ToConn::Kill);
            }
        }
    }

    /// Redis's `getClientType`: MONITOR clients count as normal ones.
    pub fn kind(&self) -> ClientType {
        if self.subs.active() {
            return ClientType::PubSub;
        }
        ClientType::Normal
    }

    /// Clients the `timeout` config never closes, as Redis's
    /// `clientsCronHandleTimeout`: monitors (Redis flags them as replicas),
    /// subscribers, and clients blocked in a command or by CLIENT PAUSE.
    pub fn exempt_from_timeout(&self) -> bool {
        self.monitor || self.subs.active() || self.paused || self.blocked.is_some()
    }

    /// Output waiting to be written: what is in `out` (CLIENT LIST obl)
    /// and what the connection task still has to write (omem).
    pub fn output_pending(&self) -> usize {
        self.out.buf.len() + self.wire.unsent()
    }

    /// Redis's `checkClientOutputBufferLimits`: over the hard limit, or
    /// over the soft one for more than its seconds (`now_s` in unix
    /// seconds); remembers when the soft limit was first passed.
    pub fn output_limit_reached(&mut self, limits: &[ObufLimit; 3], now_s: impl FnOnce() -> i64) -> bool {
        let limit = match self.kind() {
            ClientType::Replica => limits[1],
            ClientType::PubSub => limits[2],
            ClientType::Normal | ClientType::Master => limits[0],
        };
        if limit.hard == 0 && limit.soft == 0 {
            return false;
        }
        let used = self.output_pending() as u64;
        let hard = limit.hard > 0 && used >= limit.hard;
        let mut soft = limit.soft > 0 && used >= limit.soft;
        if soft {
            let now_s = now_s();
            if self.obuf_soft_since_s == 0 {
                self.obuf_soft_since_s = now_s;
                soft = false;
            } else if now_s - self.obuf_soft_since_s <= limit.seconds {
                soft = false;
            }
        } else {
            self.obuf_soft_since_s = 0;
        }
        hard || soft
    }

    /// Whether CLIENT PAUSE holds one of its commands.
    pub fn is_held(&self) -> bool {
        !self.held.is_empty() || self.blocked.is_some()
    }

    /// Full name of the last command, as CLIENT LIST prints it.
    pub fn last_cmd_name(&self) -> String {
        match self.last_cmd {
            None => "NULL".to_string(),
            Some((top, def)) if std::ptr::eq(top, def) => def.name.to_string(),
            Some((top, def)) => format!("{}|{}", top.name, def.name),
        }
    }

    /// Flags as CLIENT LIST prints them, in Redis's order.
    pub fn flag_string(&self) -> String {
        let mut f = String::new();
        if self.monitor {
            f.push('O');
        }
        if self.subs.active() {
            f.push('P');
        }
        if self.tx.in_multi() {
            f.push('x');
        }
        if self.paused || self.blocked.is_some() {
            f.push('b');
        }
        if self.tx.dirty_cas {
            f.push('d');
        }
        if self.close_after_reply {
            f.push('c');
        }
        if self.unix {
            f.push('U');
        }
        if self.no_evict {
            f.push('e');
        }
        if self.no_touch {
            f.push('T');
        }
        if f.is_empty() {
            f.push('N');
        }
        f
    }

    /// Approximate memory this client holds: the struct, its buffers and
    /// the arguments of the command it runs or holds.
    pub fn memory(&self, argv_mem: usize) -> usize {
        std::mem::size_of::<Client>()
            + self.out.buf.capacity()
            + self.wire.unsent()
            + self.qbuf
            + self.qbuf_free
            + argv_mem
            + self.multi_mem()
            + self.name.as_ref().map_or(0, |n| n.len())
    }

    /// Bytes of the commands queued by MULTI (CLIENT LIST multi-mem): their
    /// arguments and the vectors holding them.
    pub fn multi_mem(&self) -> usize {
        self.tx.queued.as_ref().map_or(0, |q| {
            q.capacity() * std::mem::size_of::<(crate::executor::Resolved, Vec<bytes::Bytes>)>()
                + q.iter()
                    .map(|(_, argv)| {
                        argv.capacity() * std::mem::size_of::<bytes::Bytes>()
                            + argv.iter().map(|a| a.len()).sum::<usize>()
                    })
                    .sum::<usize>()
        })
    }

    /// Appends this client's CLIENT LIST line (without the newline), with
    /// Redis 7.2's fields in Redis's order. `argv_mem` is the size of the
    /// arguments of the command it is running, if it is the caller.
    pub fn write_info(&self, s: &mut String, now_ms: i64, argv_mem: usize) {
        fn text(v: &Option<Vec<u8>>) -> std::borrow::Cow<'_, str> {
            v.as_deref().map(String::from_utf8_lossy).unwrap_or_default()
        }
        let argv_mem = argv_mem.max(self.argv_mem);
        let obl = self.out.buf.len();
        let multi = self.tx.queued.as_ref().map_or(-1, |q| q.len() as i64);
        // Output the connection task has yet to write makes it wait for the
        // socket to become writable: Redis's write handler.
        let events = if self.wire.unsent() > 0 { "rw" } else { "r" };
        let _ = write!(
            s,
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} \
             qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs={} rbp={} obl={} oll={} omem={} tot-mem={} \
             events={} cmd={} user={} redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            text(&self.name),
            (now_ms / 1000 - self.ctime_ms / 1000).max(0),
            (now_ms / 1000 - self.last_interaction_ms / 1000).max(0),
            self.flag_string(),
            self.db,
            self.subs.channels.len(),
            self.subs.patterns.len(),
            self.subs.shard.len(),
            multi,
            self.qbuf,
            self.qbuf_free,
            argv_mem,
            self.multi_mem(),
            self.out.buf.capacity(),
            self.reply_peak.max(obl),
            obl,
            self.wire.chunks.load(Ordering::Relaxed),
            self.wire.unsent(),
            self.memory(argv_mem),
            events,
            self.last_cmd_name(),
            self.user,
            self.out.resp,
            text(&self.lib_name),
            text(&self.lib_ver),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::pin;
    use std::task::{Context, Wake};

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A wake-up sent before the wait is kept for it, one sent during the
    /// wait wakes the task once, and each is taken by one wait only.
    #[test]
    fn wakeup_keeps_one_permit_and_wakes_the_waiting_task() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let wakeup = Wakeup::default();

        wakeup.notify_one();
        wakeup.notify_one();
        assert!(pin!(wakeup.notified()).poll(&mut cx).is_ready());
        let mut wait = pin!(wakeup.notified());
        assert!(wait.as_mut().poll(&mut cx).is_pending());
        assert!(wait.as_mut().poll(&mut cx).is_pending());
        assert_eq!(count.0.load(Ordering::Relaxed), 0);

        wakeup.notify_one();
        assert_eq!(count.0.load(Ordering::Relaxed), 1);
        assert!(wait.as_mut().poll(&mut cx).is_ready());
        assert!(pin!(wakeup.notified()).poll(&mut cx).is_pending());
    }
}
