//! Listeners, the event-loop thread, and the periodic server cron.

pub mod busy;
pub mod client;
pub mod conn;
pub mod io_threads;
pub mod latency;
pub mod logging;

use std::cell::RefCell;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::net::TcpListener;
use tokio::task::LocalSet;

use crate::config::Config;
use crate::executor::{Request, Server};
use crate::protocol::{Decoder, Limits};

pub type Shared = Rc<RefCell<Server>>;

/// Decodes up to `max` complete requests from `rbuf` into `out`; only one
/// while the client is not authenticated, since AUTH changes the limits
/// for what follows. A malformed one ends the batch.
pub fn decode_batch(decoder: &mut Decoder, rbuf: &mut BytesMut, limits: Limits, max: usize, out: &mut Vec<Request>) {
    while out.len() < max {
        match decoder.decode(rbuf, limits) {
            Ok(Some(args)) => out.push(Request::Command(args)),
            Ok(None) => break,
            Err(e) => {
                out.push(Request::ProtocolError(e.0));
                break;
            }
        }
        if !limits.authenticated {
            break;
        }
    }
}

/// Binds every configured address; Redis's default `* -::*` means all IPv4
/// addresses plus IPv6 if available.
async fn bind_all(config: &Config) -> std::io::Result<Vec<TcpListener>> {
    let mut listeners = Vec::new();
    let addrs: Vec<String> = if config.bind.is_empty() { vec!["*".into(), "-::*".into()] } else { config.bind.clone() };
    for addr in addrs {
        // A leading '-' marks an address that may be unavailable.
        let (optional, host) = match addr.strip_prefix('-') {
            Some(h) => (true, h.to_string()),
            None => (false, addr.clone()),
        };
        let host = match host.as_str() {
            "*" => "0.0.0.0".to_string(),
            "::*" => "::".to_string(),
            h => h.to_string(),
        };
        let sock =
            if host.contains(':') { format!("[{host}]:{}", config.port) } else { format!("{host}:{}", config.port) };
        match bind_one(&sock, config).await {
            Ok(l) => listeners.push(l),
            Err(e) if optional => tracing::warn!("Could not bind {sock}: {e}"),
            Err(e) => {
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("Could not create server TCP listening socket {sock}: {e}"),
                ))
            }
        }
    }
    Ok(listeners)
}

async fn bind_one(addr: &str, config: &Config) -> std::io::Result<TcpListener> {
    let sockaddr: std::net::SocketAddr =
        addr.parse().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{e}")))?;
    let socket = if sockaddr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    if sockaddr.is_ipv6() {
        // Separate v4 and v6 listeners, as Redis binds them.
        set_v6_only(&socket);
    }
    socket.bind(sockaddr)?;
    let backlog = config.get("tcp-backlog").and_then(|v| v.parse().ok()).unwrap_or(511);
    socket.listen(backlog)
}

fn set_v6_only(socket: &tokio::net::TcpSocket) {
    use std::os::fd::AsRawFd;
    const IPPROTO_IPV6: i32 = 41;
    const IPV6_V6ONLY: i32 = 26;
    set_int_option(socket.as_raw_fd(), IPPROTO_IPV6, IPV6_V6ONLY, 1);
}

/// Sets an integer socket option; failures are ignored (best effort).
pub(crate) fn set_int_option(fd: i32, level: i32, name: i32, value: i32) {
    let value: libc_int = value;
    // SAFETY: setsockopt on a socket the caller owns, with a valid pointer
    // to an int and its size.
    unsafe {
        setsockopt(fd, level, name, &value as *const libc_int as *const _, 4);
    }
}

/// File descriptors kept for listeners, files and the like beyond one per
/// client, as Redis's CONFIG_MIN_RESERVED_FDS.
const RESERVED_FDS: u64 = 32;

/// Raises the open files limit toward `wanted`, or as close to it as the
/// system allows (16 at a time), as Redis's `adjustOpenFilesLimit`.
/// Returns the limit before and the one now in force, or None when it
/// cannot be read.
fn raise_open_files_limit(wanted: u64) -> Option<(u64, u64)> {
    #[repr(C)]
    struct Rlimit {
        cur: u64,
        max: u64,
    }
    extern "C" {
        fn getrlimit(resource: i32, rlim: *mut Rlimit) -> i32;
        fn setrlimit(resource: i32, rlim: *const Rlimit) -> i32;
    }
    const RLIMIT_NOFILE: i32 = 7;
    let mut limit = Rlimit { cur: 0, max: 0 };
    // SAFETY: getrlimit fills a struct we own, laid out as Linux's rlimit.
    if unsafe { getrlimit(RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    let old = limit.cur;
    if old >= wanted {
        return Some((old, old));
    }
    let mut best = wanted;
    while best > old {
        let try_limit = Rlimit { cur: best, max: best };
        // SAFETY: setrlimit reads a valid rlimit struct.
        if unsafe { setrlimit(RLIMIT_NOFILE, &try_limit) } == 0 {
            break;
        }
        if best < 16 {
            best = old;
            break;
        }
        best -= 16;
    }
    Some((old, best.max(old)))
}

/// CONFIG SET maxclients: the open files limit is raised to fit, or the
/// value is refused with the most clients the system can take.
pub fn fit_maxclients(maxclients: u64) -> Result<(), String> {
    let wanted = maxclients + RESERVED_FDS;
    match raise_open_files_limit(wanted) {
        Some((_, best)) if best < wanted => Err(format!(
            "The operating system is not able to handle the specified number of clients, try with {}",
            best.saturating_sub(RESERVED_FDS)
        )),
        _ => Ok(()),
    }
}

/// At start-up: the open files limit is raised to what `maxclients`
/// needs, and `maxclients` lowered to fit when it cannot be.
fn adjust_open_files_limit(config: &mut Config) -> std::io::Result<()> {
    let wanted = config.maxclients as u64 + RESERVED_FDS;
    let Some((old, best)) = raise_open_files_limit(wanted) else { return Ok(()) };
    if best >= wanted {
        if best > old {
            tracing::info!("Increased maximum number of open files to {wanted} (it was originally set to {old}).");
        }
        return Ok(());
    }
    if best <= RESERVED_FDS {
        return Err(std::io::Error::other(format!(
            "Your current 'ulimit -n' of {old} is not enough for the server to start. Please increase your open file \
             limit to at least {wanted}. Exiting."
        )));
    }
    let maxclients = best - RESERVED_FDS;
    tracing::warn!(
        "You requested maxclients of {} requiring at least {wanted} max file descriptors.",
        config.maxclients
    );
    tracing::warn!(
        "Current maximum open files is {best}. maxclients has been reduced to {maxclients} to compensate for low \
         ulimit. If you need higher maxclients increase 'ulimit -n'."
    );
    config.set("maxclients", &maxclients.to_string(), true).map_err(std::io::Error::other)
}

/// Listens on the `unixsocket` path, as Redis: a stale socket file is
/// removed first, and the file gets `unixsocketperm` if set.
fn bind_unix(config: &Config) -> std::io::Result<Option<(tokio::net::UnixListener, String)>> {
    let Some(path) = config.unixsocket.clone() else { return Ok(None) };
    let _ = std::fs::remove_file(&path);
    let fail = |e: std::io::Error| std::io::Error::new(e.kind(), format!("Failed opening Unix socket: {e}"));
    let listener = tokio::net::UnixListener::bind(&path).map_err(fail)?;
    if config.unixsocketperm != 0 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(config.unixsocketperm)).map_err(fail)?;
    }
    Ok(Some((listener, path)))
}

#[allow(non_camel_case_types)]
type libc_int = i32;
extern "C" {
    fn setsockopt(fd: i32, level: i32, name: i32, value: *const std::ffi::c_void, len: u32) -> i32;
}

/// Runs the server until SHUTDOWN or a signal. The executor and, by
/// default, every connection run on this one thread: connection tasks
/// execute their commands directly on the shared state, so a request needs
/// no hand-off between threads. With `io-threads N > 1`, connections run on
/// N-1 other threads and pass whole batches to this one.
pub fn run(mut config: Config) -> std::io::Result<()> {
    adjust_open_files_limit(&mut config)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local = LocalSet::new();
    // The LocalSet polls the future it runs at every tick, before its
    // tasks. Run as a task, the server's main loop (its select over
    // signals and shutdown) is polled only when one of them fires; the
    // tick polls just its join handle.
    let main = local.spawn_local(async move {
        let listeners = bind_all(&config).await?;
        let unix = bind_unix(&config)?;
        let hz = config.hz;
        let io_threads = config.io_threads;
        let shared: Shared = Rc::new(RefCell::new(Server::new(config)));
        crate::alloc::mark_startup();
        let listeners_addrs: Vec<_> = listeners.iter().filter_map(|l| l.local_addr().ok()).collect();
        let unix_path = unix.as_ref().map(|(_, path)| path.clone());
        let mut busy_listeners: Vec<busy::Listener> =
            listeners.iter().map(|l| busy::Listener { fd: l.as_raw_fd(), unix: None }).collect();
        if let Some((l, path)) = &unix {
            busy_listeners.push(busy::Listener { fd: l.as_raw_fd(), unix: Some(path.clone()) });
        }
        if io_threads > 1 {
            let (dispatch, inbox) = io_threads::start(shared.clone(), io_threads - 1)?;
            busy::register(busy_listeners, busy::Mode::Threads { dispatch: dispatch.clone(), inbox });
            tracing::info!("Started {} I/O threads", io_threads - 1);
            for listener in listeners {
                tokio::task::spawn_local(io_threads::accept_loop(shared.clone(), listener, dispatch.clone()));
            }
            if let Some((listener, path)) = unix {
                tokio::task::spawn_local(io_threads::accept_unix_loop(listener, path, dispatch));
            }
        } else {
            busy::register(busy_listeners, busy::Mode::Local(Rc::downgrade(&shared)));
            tokio::task::spawn_local(conn::open_write_turns());
            tokio::task::spawn_local(conn::poll_while_busy());
            for listener in listeners {
                tokio::task::spawn_local(conn::accept_loop(shared.clone(), listener));
            }
            if let Some((listener, path)) = unix {
                tokio::task::spawn_local(conn::accept_unix_loop(shared.clone(), listener, path));
            }
        }
        tokio::task::spawn_local(cron(shared.clone(), hz));
        tokio::task::spawn_local(pause_watcher(shared.clone()));
        tokio::task::spawn_local(deadline_watcher(shared.clone()));
        tokio::task::spawn_local(crate::persistence::snapshot::driver(shared.clone()));
        tokio::task::spawn_local(crate::persistence::aof::flusher(shared.clone()));
        let notify = shared.borrow().shutdown_notify.clone();
        let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        // The dataset is loaded while connections are served (they get
        // -LOADING meanwhile); a damaged file stops the server.
        let load = crate::persistence::load_at_startup(&shared);
        tokio::pin!(load);
        let mut loading = true;
        loop {
            let signal = tokio::select! {
                result = &mut load, if loading => {
                    loading = false;
                    if let Err(e) = result {
                        tracing::error!("{e}");
                        return Err(std::io::Error::other(e));
                    }
                    log_ready(&listeners_addrs, unix_path.as_deref());
                    continue;
                }
                _ = notify.notified() => None,
                _ = sigterm.recv() => Some("SIGTERM"),
                _ = sigint.recv() => Some("SIGINT"),
            };
            let Some(name) = signal else { break };
            tracing::warn!("Received {name} scheduling shutdown...");
            // The final save, as shutdown-on-sigterm/-sigint say; if it
            // fails (without FORCE) the server keeps running, as Redis.
            if crate::persistence::signal_shutdown(&mut shared.borrow_mut(), name) {
                break;
            }
        }
        finish_shutdown(&mut shared.borrow_mut());
        Ok(())
    });
    local.block_on(&rt, main).unwrap_or_else(|e| Err(std::io::Error::other(e)))
}

/// The last steps of every shutdown, after the final save if any.
fn finish_shutdown(srv: &mut Server) {
    tracing::warn!("User requested shutdown...");
    crate::persistence::aof::shutdown(srv);
    tracing::warn!("oxkey is now ready to exit, bye bye...");
}

/// SHUTDOWN NOSAVE while a script runs past busy-reply-threshold: the
/// process exits from within the script, as Redis's does. What the script
/// wrote so far is not propagated (the AOF gets none of it), and the
/// dataset is not saved.
pub fn exit_from_script(srv: &mut Server) -> ! {
    srv.discard_atomic_writes();
    finish_shutdown(srv);
    remove_pidfile(srv.config.pidfile.as_deref());
    std::process::exit(0)
}

/// Removes the `pidfile`, if one is configured, at exit.
pub fn remove_pidfile(pidfile: Option<&str>) {
    if let Some(path) = pidfile {
        tracing::info!("Removing the pid file.");
        let _ = std::fs::remove_file(path);
    }
}

/// The lines that say the server is up, once its dataset is loaded.
fn log_ready(addrs: &[std::net::SocketAddr], unix: Option<&str>) {
    for a in addrs {
        tracing::info!("Ready to accept connections tcp {a}");
    }
    if let Some(path) = unix {
        tracing::info!("Ready to accept connections unix {path}");
    }
}

/// Releases the clients CLIENT PAUSE holds when the pause ends or changes
/// (UNPAUSE, a new mode). Sleeps until the end of the current pause.
async fn pause_watcher(shared: Shared) {
    let notify = shared.borrow().pause_notify.clone();
    loop {
        let left = shared.borrow().pause_until_ms - crate::util::now_ms();
        if left > 0 {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(left as u64)) => {}
                _ = notify.notified() => {}
            }
        } else {
            notify.notified().await;
        }
        crate::executor::resume_held(&mut shared.borrow_mut());
    }
}

/// Ends blocking commands at their deadlines. Sleeps until the earliest
/// one, or until an earlier one is set.
async fn deadline_watcher(shared: Shared) {
    let notify = shared.borrow().waiters.deadline_notify.clone();
    loop {
        let next = shared.borrow().waiters.next_deadline();
        match next {
            Some(t) => {
                let left = (t - crate::util::now_ms()).max(0) as u64;
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(left)) => {}
                    _ = notify.notified() => {}
                }
            }
            None => notify.notified().await,
        }
        shared.borrow_mut().time_out_blocked(crate::util::now_ms());
    }
}

/// The periodic work of Redis's `serverCron`: active expiry, incremental
/// rehashing, idle client timeouts, statistics samples.
async fn cron(shared: Shared, hz: u32) {
    let mut hz = hz.max(1);
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / hz as u64));
    loop {
        tick.tick().await;
        let mut srv = shared.borrow_mut();
        // While loading, clients are looked after and nothing else: the
        // dataset is not whole yet.
        if srv.persistence.loading.is_some() {
            close_idle_clients(&mut srv);
            close_over_output_limits(&mut srv);
            continue;
        }
        // Keys do not expire while CLIENT PAUSE holds writes.
        if !srv.expire_paused() {
            let started = std::time::Instant::now();
            crate::db::expire::active_cycle(&mut srv, 1000 / hz as u64);
            let ms = started.elapsed().as_millis() as u64;
            let threshold = srv.config.latency_monitor_threshold;
            srv.latency.add_if_needed(threshold, "expire-cycle", ms);
        }
        // Memory over maxmemory (lowered by CONFIG SET, or an eviction
        // that ran out of time) is freed here too, not only before commands.
        if crate::db::evict::maxmemory() != 0 {
            crate::db::evict::perform(&mut srv, None);
            if srv.interest_pending() {
                // Between commands every client is in the table: the
                // evicted keys' watchers are flagged there, none is left.
                let _ = srv.handle_touched();
            }
        }
        crate::alloc::peak();
        close_idle_clients(&mut srv);
        close_over_output_limits(&mut srv);
        let rehash_ms = if srv.config.activerehashing { 1 } else { 0 };
        for db in srv.dbs.iter_mut() {
            db.tables_cron(Duration::from_millis(rehash_ms));
        }
        let now = crate::util::now_ms();
        let commands = srv.stats.commands;
        let samples = &mut srv.stats.ops_samples;
        samples.push((now, commands));
        if samples.len() > 16 {
            samples.remove(0);
        }
        srv.propagate_expired();
        crate::persistence::cron(&mut srv);
        if srv.config.hz != hz {
            hz = srv.config.hz.max(1);
            tick = tokio::time::interval(Duration::from_millis(1000 / hz as u64));
        }
    }
}

/// Closes clients idle for more than `timeout` seconds, as Redis's
/// `clientsCronHandleTimeout` (monitors and blocked clients excepted).
fn close_idle_clients(srv: &mut Server) {
    let timeout = srv.config.timeout;
    if timeout <= 0 {
        return;
    }
    let now_s = crate::util::now_ms() / 1000;
    let idle: Vec<u64> = srv
        .clients
        .values()
        .filter(|c| !c.exempt_from_timeout() && now_s - c.last_interaction_ms / 1000 > timeout)
        .map(|c| c.id)
        .collect();
    for id in idle {
        tracing::debug!("Closing idle client");
        srv.kill_client(id);
    }
}

/// Closes clients over their output buffer limit, as Redis's
/// `clientsCron`: a client whose output is stuck over the soft limit is
/// closed once its seconds are up even if nothing more is written to it.
fn close_over_output_limits(srv: &mut Server) {
    if srv.config.obuf_limits.iter().all(|l| l.hard == 0 && l.soft == 0) {
        return;
    }
    let now_s = crate::util::now_ms() / 1000;
    let pending: Vec<u64> =
        srv.clients.values().filter(|c| c.output_pending() > 0 || c.obuf_soft_since_s != 0).map(|c| c.id).collect();
    for id in pending {
        if let Some(client) = srv.clients.remove(&id) {
            if let Some(client) = conn::close_on_output_limit(srv, client, now_s) {
                srv.clients.insert(id, client);
            }
        }
    }
}
