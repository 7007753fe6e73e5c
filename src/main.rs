//! `oxkey-server [/path/to/oxkey.conf] [--name value ...] [-]`, started as
//! redis-server is: the configuration file, then standard input with `-`,
//! then every `--name value [value ...]` turned into a configuration line.

use std::io::Read;

use clap::Parser;
use oxkey::config::{repr, Config, LoadError};
use oxkey::server::logging;
use tracing::Level;

/// jemalloc, as Redis links it: its size classes carry no per-allocation
/// header, so the many small allocations of a keyspace (entries, keys,
/// listpacks) cost what they hold; with glibc malloc every one pays a
/// header and rounds up to 16 bytes, 20-30% more memory per key.
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
    match args.first().map(String::as_str) {
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
    if let Some(path) = &pidfile {
        tracing::info!("Removing the pid file.");
        let _ = std::fs::remove_file(path);
    }
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
}
