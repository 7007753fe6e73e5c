//! Per-connection state the executor keeps: selected db, protocol version,
//! name, flags, and the output buffer replies are encoded into.

use std::rc::Rc;

use tokio::sync::Notify;

use crate::protocol::Out;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ReplyMode {
    On,
    Off,
    /// Suppress the reply of the next command only.
    Skip,
    /// Set by CLIENT REPLY SKIP: becomes Skip once that command has run.
    SkipNext,
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
    pub last_interaction_ms: i64,
    pub last_cmd: &'static str,
    pub reply_mode: ReplyMode,
    /// Close the connection once pending replies are written (QUIT, KILL,
    /// protocol errors).
    pub close_after_reply: bool,
    pub monitor: bool,
    pub no_evict: bool,
    pub no_touch: bool,
    /// Bytes waiting in the query buffer, for CLIENT LIST's qbuf.
    pub qbuf: usize,
    /// Wakes the connection task when something was written to `out` from
    /// outside its own request (pub/sub, MONITOR, unblocking, kill).
    pub notify: Rc<Notify>,
}

impl Client {
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
            last_cmd: "NULL",
            reply_mode: ReplyMode::On,
            close_after_reply: false,
            monitor: false,
            no_evict: false,
            no_touch: false,
            qbuf: 0,
            notify: Rc::new(Notify::new()),
        }
    }

    /// Flags as CLIENT LIST prints them.
    pub fn flag_string(&self) -> String {
        let mut f = String::new();
        if self.monitor {
            f.push('O');
        }
        if self.close_after_reply {
            f.push('c');
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
}
