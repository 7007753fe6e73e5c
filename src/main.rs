//! `oxkey-server [config file] [--name value ...]`, started as redis-server is.

use clap::Parser;

#[derive(Parser)]
#[command(name = "oxkey-server", version, about = "A Redis/Valkey-compatible in-memory data structure server")]
struct Cli {
    /// A redis.conf-style configuration file, then any `--parameter value...`
    /// overrides (e.g. `--port 6380 --bind 127.0.0.1 ::1`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// Turns `[file] --a x y --b z` into the config file path and the text of
/// the equivalent config lines, as redis-server does.
fn split_args(args: &[String]) -> (Option<String>, String) {
    let mut file = None;
    let mut rest = args;
    if let Some(first) = args.first() {
        if !first.starts_with("--") {
            file = Some(first.clone());
            rest = &args[1..];
        }
    }
    let mut text = String::new();
    for a in rest {
        if let Some(name) = a.strip_prefix("--") {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(name);
        } else {
            text.push(' ');
            text.push_str(&quote(a));
        }
    }
    (file, text)
}

/// Quotes a command-line value so the config parser reads it back as is.
fn quote(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                q.push('\\');
                q.push(c);
            }
            '\n' => q.push_str("\\n"),
            _ => q.push(c),
        }
    }
    q.push('"');
    q
}

fn main() {
    let cli = Cli::parse();
    let (file, overrides) = split_args(&cli.args);
    let mut config = oxkey::config::Config::default();
    if let Some(f) = &file {
        if let Err(e) = config.load_file(f) {
            eprintln!("{e}");
            std::process::exit(1);
        }
        config.config_file = std::fs::canonicalize(f).ok().map(|p| p.to_string_lossy().into_owned());
    }
    if let Err(e) = config.load_text(&overrides, None) {
        eprintln!("{e}");
        std::process::exit(1);
    }
    oxkey::server::logging::init(&config);
    tracing::info!("oxkey {} starting (Redis {} compatible)", oxkey::VERSION, oxkey::REDIS_COMPAT_VERSION);
    if let Err(e) = oxkey::server::run(config) {
        tracing::error!("{e}");
        eprintln!("{e}");
        std::process::exit(1);
    }
}
