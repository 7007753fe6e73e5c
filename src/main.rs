//! `oxkey-server [/path/to/oxkey.conf] [--name value ...] [-]`, started as
//! redis-server is: the configuration file, then standard input with `-`,
//! then every `--name value [value ...]` turned into a configuration line.

use std::io::Read;

use clap::Parser;
use oxkey::config::{repr, Config, LoadError};
use oxkey::server::logging;
use tracing::Level;

/// Every allocation counted, for `used_memory` and maxmemory.
#[global_allocator]
static ALLOCATOR: oxkey::alloc::Counting = oxkey::alloc::Counting;

/// redis-server's arguments pass through clap untouched: they are not
/// flags of their own but configuration lines, handled as Redis does.
#[derive(Parser)]
#[command(name = "oxkey-server", disable_help_flag = true, disable_version_flag = true)]
struct Cli {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<std::ffi::OsString>,
}

/// What the command line asks for, as redis-server's main() reads it.
struct CommandLine {
    /// The first argument, unless it starts with '-'.
    file: Option<String>,
    /// `-` as the first or last argument: append standard input.
    stdin: bool,
    /// The `--name value` options as configuration lines.
    options: String,
}

impl CommandLine {
    fn parse(args: &[String]) -> CommandLine {
        let mut file = None;
        let mut j = 0;
        if let Some(first) = args.first() {
            if !first.starts_with('-') {
                file = Some(first.clone());
                j = 1;
            }
        }
        let last = args.len().saturating_sub(1);
        let mut stdin = false;
        let mut options = String::new();
        // Whether the last option already has a value, so that a new `--x`
        // starts an option rather than being a value (`--save --port 1`).
        let mut handled_last = true;
        while j < args.len() {
            let arg = &args[j];
            if arg == "-" && (j == 0 || j == last) {
                stdin = true;
            } else if handled_last && arg.starts_with("--") {
                if !options.is_empty() {
                    options.push('\n');
                }
                options.push_str(&arg[2..]);
                options.push(' ');
                // "--port 6380" as one argument already carries its value.
                let words = oxkey::protocol::decode::split_args(arg.as_bytes()).map_or(0, |w| w.len());
                if words == 1 {
                    handled_last = false;
                    let next_is_option = j != last && args[j + 1].starts_with("--");
                    let save = arg.eq_ignore_ascii_case("--save");
                    // `--save` with no value means `save ""`, as in Redis.
                    if save && (next_is_option || j == last) {
                        options.push_str("\"\"");
                        handled_last = true;
                    } else if next_is_option && arg.eq_ignore_ascii_case("--sentinel") {
                        handled_last = true;
                    }
                } else {
                    handled_last = true;
                }
            } else {
                options.push_str(&repr(arg));
                options.push(' ');
                handled_last = true;
            }
            j += 1;
        }
        CommandLine { file, stdin, options }
    }
}

fn version_line() -> String {
    format!(
        "oxkey server v={} redis_version={} sha=00000000:0 malloc=libc bits={} build=0",
        oxkey::VERSION,
        oxkey::REDIS_COMPAT_VERSION,
        usize::BITS
    )
}

fn usage(exe: &str) -> String {
    format!(
        "Usage: {exe} [/path/to/oxkey.conf] [options] [-]
       {exe} - (read config from stdin)
       {exe} -v or --version
       {exe} -h or --help
       {exe} --healthcheck [/path/to/oxkey.conf] [options] (exit 0 if it answers PING)

Examples:
       {exe} (run the server with default conf)
       echo 'maxmemory-policy allkeys-lru' | {exe} -
       {exe} /etc/oxkey/6379.conf
       {exe} --port 7777
       {exe} --port 7777 --bind 127.0.0.1 ::1
       {exe} /etc/myoxkey.conf --loglevel verbose -
       {exe} /etc/myoxkey.conf --loglevel verbose
"
    )
}

fn fail(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(1);
}

/// The configuration file of the container image (docker/oxkey.conf).
const CONTAINER_CONFIG: &str = "/etc/oxkey/oxkey.conf";

/// Command names the image's entry point starts this server for: the ones
/// the redis and valkey images' users type.
const SERVER_NAMES: [&str; 3] = ["oxkey-server", "redis-server", "valkey-server"];

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The server arguments the image's entry point runs for its arguments, as
/// the redis and valkey images' docker-entrypoint.sh decides: nothing,
/// options (`--appendonly yes`) or a `.conf` file mean the server with
/// them, and so does a server name (`redis-server --port 7000`). Without a
/// file of their own the container's configuration comes first, so every
/// form listens on all interfaces and keeps its data in /data. `None`: the
/// arguments name another command.
fn container_server_args(args: &[String]) -> Option<Vec<String>> {
    let rest = match args.first() {
        None => args,
        Some(first) if SERVER_NAMES.contains(&basename(first)) => &args[1..],
        Some(first) if first.starts_with('-') || first.ends_with(".conf") => args,
        Some(_) => return None,
    };
    let own_file = rest.first().is_some_and(|a| !a.starts_with('-'));
    let informational = rest.first().is_some_and(|a| matches!(a.as_str(), "-v" | "--version" | "-h" | "--help"));
    let mut out = Vec::with_capacity(rest.len() + 1);
    if !own_file && !informational {
        out.push(CONTAINER_CONFIG.to_string());
    }
    out.extend_from_slice(rest);
    Some(out)
}

/// The image's entry point (`docker-entrypoint`, a link to this binary; the
/// image has no shell). The server replaces this process, so it stays
/// PID 1 and receives `docker stop`'s signal itself; it starts no child
/// processes, so there are none to reap.
fn container_entrypoint(args: &[String]) -> ! {
    use std::os::unix::process::CommandExt;
    let (program, argv0, rest) = match container_server_args(args) {
        Some(rest) => {
            let exe = std::env::current_exe().unwrap_or_else(|e| fail(&format!("docker-entrypoint: {e}")));
            (exe, "oxkey-server".to_string(), rest)
        }
        None => match args.split_first() {
            Some((command, rest)) => (command.into(), command.clone(), rest.to_vec()),
            None => fail("docker-entrypoint: no command"),
        },
    };
    let e = std::process::Command::new(&program).arg0(&argv0).args(&rest).exec();
    eprintln!("docker-entrypoint: {}: {e}", program.display());
    // The shell's code for a command that cannot be found or run.
    std::process::exit(if e.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 });
}

/// The arguments PID 1 was started with, when PID 1 is this program: in
/// the container, the server whatever command line it was given.
fn pid1_server_args() -> Option<Vec<String>> {
    if std::fs::read_link("/proc/1/exe").ok()? != std::env::current_exe().ok()? {
        return None;
    }
    let raw = std::fs::read("/proc/1/cmdline").ok()?;
    Some(split_cmdline(&raw).into_iter().skip(1).collect())
}

/// `/proc/PID/cmdline`: each argument ends with a NUL (empty ones too).
fn split_cmdline(raw: &[u8]) -> Vec<String> {
    let Some(body) = raw.strip_suffix(&[0]) else { return Vec::new() };
    body.split(|&b| b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect()
}

/// The loopback addresses reaching a server bound to `bind` on `port`.
fn local_addresses(bind: &[String], port: u16) -> Vec<std::net::SocketAddr> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let default = ["*".to_string(), "-::*".to_string()];
    let bind = if bind.is_empty() { &default[..] } else { bind };
    bind.iter()
        .filter_map(|a| match a.strip_prefix('-').unwrap_or(a) {
            "*" | "0.0.0.0" => Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            "::*" | "::" => Some(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            host => host.parse().ok(),
        })
        .map(|ip| std::net::SocketAddr::new(ip, port))
        .collect()
}

/// Sends PING (after AUTH with `password`) and reads the last reply line.
fn ping(addr: std::net::SocketAddr, password: Option<&str>) -> std::io::Result<String> {
    use std::io::Write;
    let timeout = std::time::Duration::from_secs(2);
    let mut conn = std::net::TcpStream::connect_timeout(&addr, timeout)?;
    conn.set_read_timeout(Some(timeout))?;
    conn.set_write_timeout(Some(timeout))?;
    let mut request = Vec::new();
    let mut replies = 1;
    if let Some(p) = password {
        request.extend_from_slice(format!("*2\r\n$4\r\nAUTH\r\n${}\r\n{p}\r\n", p.len()).as_bytes());
        replies += 1;
    }
    request.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
    conn.write_all(&request)?;
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while got.windows(2).filter(|w| w == b"\r\n").count() < replies && got.len() < 4096 {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    Ok(text.split("\r\n").filter(|l| !l.is_empty()).last().unwrap_or("").to_string())
}

/// `oxkey-server --healthcheck [args]`, the image's HEALTHCHECK (it needs
/// no client tools): exits 0 when the server answers PING on loopback. The
/// port, bind addresses and password are read from PID 1's command line
/// when PID 1 is this program (so `docker run IMAGE --port 7000` is checked
/// on 7000), else from `args`, loaded as the server loads them.
fn healthcheck(args: &[String]) -> ! {
    let server_args = pid1_server_args().unwrap_or_else(|| args.to_vec());
    let cmdline = CommandLine::parse(&server_args);
    let mut config = Config::default();
    if let Err(e) = config.load_startup(cmdline.file.as_deref(), None, &cmdline.options) {
        fail(&format!("healthcheck: cannot read the server's configuration: {e}"));
    }
    let mut last = String::from("no address to check");
    for addr in local_addresses(&config.bind, config.port) {
        match ping(addr, config.requirepass.as_deref()) {
            Ok(reply) if reply == "+PONG" => std::process::exit(0),
            Ok(reply) => last = format!("{addr}: {reply}"),
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    fail(&format!("healthcheck: {last}"));
}

/// `--check-rdb FILE`, as redis-check-rdb: the report on standard output,
/// exit status 0 for a sound file, 1 otherwise.
fn check_rdb(exe: &str, rest: &[String]) -> i32 {
    let [file] = rest else {
        eprintln!("Usage: {exe} --check-rdb <rdb-file-name>");
        return 1;
    };
    let ok = oxkey::persistence::check::check_file(file, &mut std::io::stdout().lock());
    if ok {
        0
    } else {
        1
    }
}

fn main() {
    let cli = Cli::parse();
    let args: Vec<String> = cli.args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let exe = std::env::args().next().unwrap_or_else(|| "oxkey-server".into());
    if basename(&exe) == "docker-entrypoint" {
        container_entrypoint(&args);
    }
    match args.first().map(String::as_str) {
        Some("--healthcheck") => healthcheck(&args[1..]),
        Some("-v" | "--version") => {
            println!("{}", version_line());
            return;
        }
        Some("-h" | "--help") => fail(&usage(&exe)),
        Some(flag @ ("--test-memory" | "--check-system")) => fail(&format!("{flag} is not supported by oxkey")),
        Some("--check-rdb") => std::process::exit(check_rdb(&exe, &args[1..])),
        // redis-check-aof, built in.
        Some("--check-aof") => std::process::exit(oxkey::persistence::aof::check::run(&args[1..])),
        _ => {}
    }
    if args.iter().any(|a| a == "--sentinel") {
        fail("Sentinel mode is not supported yet by oxkey");
    }

    let cmdline = CommandLine::parse(&args);
    let mut config = Config::default();
    // The file is known by its absolute path, for CONFIG REWRITE after
    // `dir` has changed the working directory.
    if let Some(file) = &cmdline.file {
        let absolute = std::path::absolute(file).map(|p| p.to_string_lossy().into_owned()).unwrap_or(file.clone());
        config.config_file = Some(absolute);
    }
    let stdin = cmdline.stdin.then(|| {
        logging::early(Level::INFO, "Reading config from stdin");
        let mut buf = Vec::new();
        if let Err(e) = std::io::stdin().read_to_end(&mut buf) {
            fail(&format!("Reading config from stdin: {e}"));
        }
        String::from_utf8_lossy(&buf).into_owned()
    });
    let file = config.config_file.clone();
    if let Err(e) = config.load_startup(file.as_deref(), stdin.as_deref(), &cmdline.options) {
        match e {
            LoadError::Fatal(report) => eprint!("{report}"),
            LoadError::Open(message) => logging::early(Level::WARN, &message),
        }
        std::process::exit(1);
    }

    logging::init(&config);
    tracing::info!("oO0OoO0OoO0Oo oxkey is starting oO0OoO0OoO0Oo");
    tracing::info!(
        "oxkey version={}, redis_version={}, bits={}, pid={}, just started",
        oxkey::VERSION,
        oxkey::REDIS_COMPAT_VERSION,
        usize::BITS,
        std::process::id()
    );
    if args.is_empty() {
        tracing::warn!(
            "Warning: no config file specified, using the default config. In order to specify a config file use {exe} /path/to/oxkey.conf"
        );
    } else {
        tracing::info!("Configuration loaded");
    }
    if config.port == 0 || config.bind.is_empty() {
        tracing::warn!("Configured to not listen anywhere, exiting.");
        std::process::exit(1);
    }
    let pidfile = config.pidfile.clone();
    if let Some(path) = &pidfile {
        if let Err(e) = std::fs::write(path, format!("{}\n", std::process::id())) {
            tracing::warn!("Failed to write PID file: {e}");
        }
    }
    tracing::info!("Running mode=standalone, port={}.", config.port);
    tracing::info!("Server initialized");

    let result = oxkey::server::run(config);
    oxkey::server::remove_pidfile(pidfile.as_deref());
    if let Err(e) = result {
        tracing::error!("{e}");
        fail(&e.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> CommandLine {
        CommandLine::parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn options_become_config_lines_like_redis() {
        let c = parse(&["/etc/x.conf", "--port", "7000", "--bind", "127.0.0.1", "::1", "-"]);
        assert_eq!(c.file.as_deref(), Some("/etc/x.conf"));
        assert!(c.stdin);
        assert_eq!(c.options, "port \"7000\" \nbind \"127.0.0.1\" \"::1\" ");
        assert_eq!(parse(&["--save", "--port", "1"]).options, "save \"\"\nport \"1\" ");
        assert_eq!(parse(&["--port", "1", "--save"]).options, "port \"1\" \nsave \"\"");
        assert_eq!(parse(&["--port 6380", "--hz", "5"]).options, "port 6380 \nhz \"5\" ");
        assert_eq!(parse(&["--requirepass", "a \"b\""]).options, "requirepass \"a \\\"b\\\"\" ");
        let c = parse(&["-"]);
        assert!(c.stdin && c.file.is_none());
    }

    fn entry(args: &[&str]) -> Option<Vec<String>> {
        container_server_args(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn container_entrypoint_takes_redis_and_valkey_image_commands() {
        let conf = CONTAINER_CONFIG;
        assert_eq!(entry(&[]).unwrap(), [conf]);
        assert_eq!(entry(&["oxkey-server", conf]).unwrap(), [conf]);
        assert_eq!(entry(&["--appendonly", "yes"]).unwrap(), [conf, "--appendonly", "yes"]);
        assert_eq!(entry(&["redis-server", "--appendonly", "yes"]).unwrap(), [conf, "--appendonly", "yes"]);
        assert_eq!(entry(&["valkey-server"]).unwrap(), [conf]);
        assert_eq!(entry(&["oxkey-server", "--port", "7000"]).unwrap(), [conf, "--port", "7000"]);
        assert_eq!(entry(&["/usr/local/bin/redis-server", "-"]).unwrap(), [conf, "-"]);
        // A file of the user's own replaces the container's.
        assert_eq!(entry(&["/my/redis.conf", "--port", "1"]).unwrap(), ["/my/redis.conf", "--port", "1"]);
        assert_eq!(entry(&["redis-server", "/my/conf"]).unwrap(), ["/my/conf"]);
        assert_eq!(entry(&["redis-server", "--version"]).unwrap(), ["--version"]);
        assert_eq!(entry(&["-v"]).unwrap(), ["-v"]);
        assert_eq!(entry(&["redis-cli", "ping"]), None);
    }

    #[test]
    fn cmdline_keeps_empty_arguments() {
        assert_eq!(
            split_cmdline(b"oxkey-server\0--save\0\0--port\x007000\0"),
            ["oxkey-server", "--save", "", "--port", "7000"]
        );
        assert!(split_cmdline(b"").is_empty());
    }

    #[test]
    fn healthcheck_reaches_bound_addresses_over_loopback() {
        let addrs = |bind: &[&str]| {
            let bind: Vec<String> = bind.iter().map(|s| s.to_string()).collect();
            local_addresses(&bind, 7000).iter().map(|a| a.to_string()).collect::<Vec<_>>()
        };
        assert_eq!(addrs(&[]), ["127.0.0.1:7000", "[::1]:7000"]);
        assert_eq!(addrs(&["*", "-::*"]), ["127.0.0.1:7000", "[::1]:7000"]);
        assert_eq!(addrs(&["10.1.2.3", "bad"]), ["10.1.2.3:7000"]);
        assert_eq!(addrs(&["-::1"]), ["[::1]:7000"]);
    }
}
