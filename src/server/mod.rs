//! Listeners, the event-loop thread, and the periodic server cron.

pub mod client;
pub mod conn;
pub mod io_threads;
pub mod logging;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::LocalSet;

use crate::config::Config;
use crate::executor::Server;

pub type Shared = Rc<RefCell<Server>>;

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
    let one: libc_int = 1;
    // SAFETY: setsockopt on a socket we own, with a valid pointer to an int.
    unsafe {
        setsockopt(
            socket.as_raw_fd(),
            41, /* IPPROTO_IPV6 */
            26, /* IPV6_V6ONLY */
            &one as *const libc_int as *const _,
            4,
        );
    }
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
pub fn run(config: Config) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local = LocalSet::new();
    local.block_on(&rt, async move {
        let listeners = bind_all(&config).await?;
        let hz = config.hz;
        let io_threads = config.io_threads;
        let shared: Shared = Rc::new(RefCell::new(Server::new(config)));
        // The dataset is loaded before any connection is served: clients
        // never see the loading state.
        if let Err(e) = crate::persistence::load_at_startup(&mut shared.borrow_mut()) {
            tracing::error!("{e}");
            return Err(std::io::Error::other(e));
        }
        for l in &listeners {
            if let Ok(a) = l.local_addr() {
                tracing::info!("Ready to accept connections tcp {a}");
            }
        }
        if io_threads > 1 {
            let dispatch = io_threads::start(shared.clone(), io_threads - 1)?;
            tracing::info!("Started {} I/O threads", io_threads - 1);
            for listener in listeners {
                tokio::task::spawn_local(io_threads::accept_loop(listener, dispatch.clone()));
            }
        } else {
            for listener in listeners {
                tokio::task::spawn_local(conn::accept_loop(shared.clone(), listener));
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
        loop {
            let signal = tokio::select! {
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
        tracing::warn!("User requested shutdown...");
        crate::persistence::aof::shutdown(&mut shared.borrow_mut());
        tracing::warn!("oxkey is now ready to exit, bye bye...");
        Ok(())
    })
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
        // Keys do not expire while CLIENT PAUSE holds writes.
        if !srv.expire_paused() {
            crate::db::expire::active_cycle(&mut srv, 1000 / hz as u64);
        }
        close_idle_clients(&mut srv);
        for db in srv.dbs.iter_mut() {
            db.dict.rehash(100);
            db.volatile.rehash(100);
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
