//! Configuration and start-up: the real `oxkey-server` started with
//! configuration files, standard input and command-line options, then
//! CONFIG GET / SET / REWRITE / RESETSTAT over TCP. Expected values and
//! texts were taken from redis-server (7.0.15, and Redis 7.2's sources where
//! they differ).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::{bulk, err, free_port, server_binary, RawConn, Resp};

/// A directory removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("oxkey-config-{tag}-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(std::fs::canonicalize(&dir).expect("canonical temp dir"))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write file");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running server whose stdout/stderr go to files in its directory.
struct Server {
    child: Child,
    port: u16,
    out: PathBuf,
}

impl Server {
    /// Starts `oxkey-server <args> --port P --bind 127.0.0.1` in `cwd`.
    fn start(cwd: &TempDir, args: &[&str]) -> Server {
        let port = free_port();
        let out = cwd.path(&format!("stdout-{port}.txt"));
        let child = Command::new(server_binary())
            .current_dir(&cwd.0)
            .args(args)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("stdout file"))
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn oxkey-server");
        let mut s = Server { child, port, out };
        s.wait_ready();
        s
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("server exited during start-up: {st}");
            }
            if let Ok(mut c) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
                if c.write_all(b"PING\r\n").is_ok() {
                    let mut line = String::new();
                    if BufReader::new(c).read_line(&mut line).is_ok() && !line.is_empty() {
                        return;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("server on port {} did not start", self.port);
    }

    fn conn(&self) -> RawConn {
        RawConn::connect(self.port)
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("server did not exit");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the server expecting it to exit on its own (a refused start-up).
fn run_to_exit(cwd: &TempDir, args: &[&str], stdin: Option<&str>) -> (ExitStatus, String, String) {
    let mut child = Command::new(server_binary())
        .current_dir(&cwd.0)
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn oxkey-server");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(text.as_bytes()).expect("write stdin");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Ok(Some(st)) = child.try_wait() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("oxkey-server {args:?} kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    let mut err = String::new();
    child.stdout.take().expect("stdout").read_to_string(&mut out).expect("read stdout");
    child.stderr.take().expect("stderr").read_to_string(&mut err).expect("read stderr");
    (status, out, err)
}

/// CONFIG GET of one parameter's value.
fn get(c: &mut RawConn, name: &str) -> String {
    match c.cmd(&["CONFIG", "GET", name]) {
        Resp::Array(Some(v)) if v.len() == 2 => match &v[1] {
            Resp::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("CONFIG GET {name}: {other:?}"),
        },
        other => panic!("CONFIG GET {name}: {other:?}"),
    }
}

fn info(c: &mut RawConn, section: &str) -> String {
    match c.cmd(&["INFO", section]) {
        Resp::Bulk(Some(b)) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("INFO: {other:?}"),
    }
}

/// The configuration of the file test: comments, an include, quotes,
/// units, aliases, enum case, indentation, single quotes.
fn sample_conf(dir: &TempDir) -> PathBuf {
    let inc = dir.write("inc.conf", "tcp-keepalive 60\nslowlog-max-len 7\n");
    dir.write(
        "main.conf",
        &format!(
            "# A comment, then a blank line\n\nport 6379\ninclude {}\nrequirepass \"p a\\\"ss\"\nproto-max-bulk-len 1gb\n\
             hash-max-ziplist-value 2kb\nmaxmemory-policy ALLKEYS-LRU\nsave \"\"\n   hz 20   \n'timeout' '300'\n\
             notify-keyspace-events \"\"\nclient-output-buffer-limit \"pubsub 64mb 16mb 90\"\n",
            inc.display()
        ),
    )
}

#[test]
fn file_include_quotes_units_and_overrides() {
    let dir = TempDir::new("file");
    let conf = sample_conf(&dir);
    let s = Server::start(&dir, &[conf.to_str().unwrap(), "--hz", "30", "--timeout", "5"]);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["AUTH", "p a\"ss"]), Resp::ok());
    let expected = [
        ("requirepass", "p a\"ss"),
        ("proto-max-bulk-len", "1073741824"),
        ("hash-max-listpack-value", "2048"),
        ("hash-max-ziplist-value", "2048"),
        ("maxmemory-policy", "allkeys-lru"),
        // The command line comes after the file: its values win.
        ("hz", "30"),
        ("timeout", "5"),
        // From the included file.
        ("tcp-keepalive", "60"),
        ("slowlog-max-len", "7"),
        ("client-output-buffer-limit", "normal 0 0 0 slave 268435456 67108864 60 pubsub 67108864 16777216 90"),
        ("save", ""),
        ("port", &s.port.to_string()),
    ];
    for (name, value) in expected {
        assert_eq!(get(&mut c, name), value, "{name}");
    }
    assert_eq!(get(&mut c, "dir"), dir.0.to_str().unwrap());
    assert!(s.stdout().contains("Configuration loaded"), "{}", s.stdout());
}

#[test]
fn config_rewrite_keeps_the_file_like_redis() {
    let dir = TempDir::new("rewrite");
    let conf = sample_conf(&dir);
    let log = dir.path("server.log");
    let s = Server::start(
        &dir,
        &[conf.to_str().unwrap(), "--hz", "30", "--timeout", "5", "--logfile", log.to_str().unwrap()],
    );
    let mut c = s.conn();
    assert_eq!(c.cmd(&["AUTH", "p a\"ss"]), Resp::ok());
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory-samples", "9", "slowlog-max-len", "8"]), Resp::ok());
    assert_eq!(c.cmd(&["CONFIG", "REWRITE"]), Resp::ok());
    let text = std::fs::read_to_string(&conf).expect("read rewritten file");
    let (head, tail) = text.split_once("# Generated by CONFIG REWRITE\n").expect("signature line");
    // What Redis 7.0.15 wrote for the same file and commands: lines kept in
    // place (the alias renamed, the values updated, the include untouched).
    let inc = dir.path("inc.conf");
    assert_eq!(
        head,
        format!(
            "# A comment, then a blank line\n\nport {}\ninclude {}\nrequirepass \"p a\\\"ss\"\nproto-max-bulk-len 1gb\n\
             hash-max-listpack-value 2kb\nmaxmemory-policy allkeys-lru\nsave \"\"\nhz 30\ntimeout 5\n\
             notify-keyspace-events \"\"\nclient-output-buffer-limit normal 0 0 0\n\n",
            s.port,
            inc.display()
        )
    );
    // Appended in Redis's hash order there; compared as a set. Redis also
    // writes a `user default ...` line (ACL users are not built yet).
    let mut appended: Vec<&str> = tail.lines().collect();
    appended.sort();
    let log_line = format!("logfile \"{}\"", log.display());
    let dir_line = format!("dir \"{}\"", dir.0.display());
    let mut expected = vec![
        // The test servers listen on 127.0.0.1 only.
        "bind 127.0.0.1",
        "slowlog-max-len 8",
        "tcp-keepalive 60",
        &log_line,
        "client-output-buffer-limit pubsub 64mb 16mb 90",
        "maxmemory-samples 9",
        "latency-tracking-info-percentiles 50 99 99.9",
        &dir_line,
    ];
    expected.sort();
    assert_eq!(appended, expected);
    drop(s);

    // The rewritten file starts a server with the same configuration.
    let s = Server::start(&dir, &[conf.to_str().unwrap()]);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["AUTH", "p a\"ss"]), Resp::ok());
    assert_eq!(get(&mut c, "slowlog-max-len"), "8");
    assert_eq!(get(&mut c, "maxmemory-samples"), "9");
    assert_eq!(get(&mut c, "hz"), "30");
}

#[test]
fn config_rewrite_without_or_with_a_deleted_file() {
    let dir = TempDir::new("rewrite-none");
    let s = Server::start(&dir, &[]);
    let mut c = s.conn();
    // Redis 7's built-in save points.
    assert_eq!(get(&mut c, "save"), "3600 1 300 100 60 10000");
    assert_eq!(c.cmd(&["CONFIG", "REWRITE"]), err("ERR The server is running without a config file"));
    drop(s);

    let conf = dir.write("gone.conf", "hz 15\n");
    let s = Server::start(&dir, &[conf.to_str().unwrap()]);
    std::fs::remove_file(&conf).expect("remove config file");
    let mut c = s.conn();
    assert_eq!(c.cmd(&["CONFIG", "REWRITE"]), Resp::ok());
    let text = std::fs::read_to_string(&conf).expect("recreated file");
    assert!(text.starts_with("# Generated by CONFIG REWRITE\n"), "{text}");
    // The default save points are written out, one line each, as Redis 7.0
    // writes them.
    let port = format!("port {}", s.port);
    for line in ["hz 15", "save 3600 1", "save 300 100", "save 60 10000", "bind 127.0.0.1", &port] {
        assert!(text.lines().any(|l| l == line), "{line} in {text}");
    }
}

#[test]
fn config_from_standard_input() {
    let dir = TempDir::new("stdin");
    let port = free_port();
    let mut child = Command::new(server_binary())
        .current_dir(&dir.0)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    child.stdin.take().expect("stdin").write_all(b"hz 33\nmaxmemory-policy volatile-lru\nport 1\n").expect("write");
    let mut s = Server { child, port, out: dir.path("none") };
    s.wait_ready();
    let mut c = s.conn();
    assert_eq!(get(&mut c, "hz"), "33");
    assert_eq!(get(&mut c, "maxmemory-policy"), "volatile-lru");
    // Standard input comes before the command-line options.
    assert_eq!(get(&mut c, "port"), port.to_string());
}

/// The lines of Redis's start-up error report after its header line.
fn report(stderr: &str) -> &str {
    assert!(stderr.starts_with("\n*** FATAL CONFIG FILE ERROR ("), "{stderr}");
    stderr.split_once("***\n").map(|(_, rest)| rest).unwrap_or("")
}

#[test]
fn start_up_errors_like_redis() {
    let dir = TempDir::new("errors");
    let bad = dir.write("bad.conf", "port 7201\nhz abc\n");
    let quotes = dir.write("quotes.conf", "port \"7201\n");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![bad.to_str().unwrap()],
            "Reading the configuration file, at line 2\n>>> 'hz abc'\nargument couldn't be parsed into an integer\n",
        ),
        (
            vec!["--port", "7201", "--hz", "abc"],
            "Reading the configuration file, at line 3\n>>> 'hz \"abc\"'\nargument couldn't be parsed into an integer\n",
        ),
        (
            vec!["--port", "7201", "--nosuch", "1", "2"],
            "Reading the configuration file, at line 3\n>>> 'nosuch \"1\" \"2\"'\nBad directive or wrong number of arguments\n",
        ),
        (
            vec!["--port", "7201", "--save", "1", "2", "3"],
            "Reading the configuration file, at line 3\n>>> 'save \"1\" \"2\" \"3\"'\nInvalid save parameters\n",
        ),
        (
            vec!["--port", "7201", "--appendonly", "y es"],
            "Reading the configuration file, at line 3\n>>> 'appendonly \"y es\"'\nargument must be 'yes' or 'no'\n",
        ),
        (
            vec![quotes.to_str().unwrap()],
            "Reading the configuration file, at line 1\n>>> 'port \"7201'\nUnbalanced quotes in configuration line\n",
        ),
        (vec!["--port"], "Reading the configuration file, at line 2\n>>> 'port'\nwrong number of arguments\n"),
        (
            vec!["--port", "7201", "foo", "--hz"],
            "Reading the configuration file, at line 2\n>>> 'port \"7201\" \"foo\"'\nwrong number of arguments\n",
        ),
        (
            vec!["--port", "7202", "-v"],
            "Reading the configuration file, at line 2\n>>> 'port \"7202\" \"-v\"'\nwrong number of arguments\n",
        ),
        (
            vec!["--maxclients", "0"],
            "Reading the configuration file, at line 2\n>>> 'maxclients \"0\"'\nargument must be between 1 and 4294967295 inclusive\n",
        ),
        (
            vec!["--loglevel", "loud"],
            // Redis 7.2's list, with "nothing".
            "Reading the configuration file, at line 2\n>>> 'loglevel \"loud\"'\nargument(s) must be one of the following: debug, verbose, notice, warning, nothing\n",
        ),
        (
            vec!["--logfile", "/no/such/dir/x.log"],
            "Can't open the log file: No such file or directory\n",
        ),
    ];
    for (args, expected) in cases {
        let (status, _, stderr) = run_to_exit(&dir, &args, None);
        assert_eq!(status.code(), Some(1), "{args:?}");
        assert_eq!(report(&stderr), expected, "{args:?}");
    }

    // Files that cannot be read are logged, as Redis does, with the
    // absolute path of the main file.
    let (status, stdout, _) = run_to_exit(&dir, &["nonexist.conf"], None);
    assert_eq!(status.code(), Some(1));
    let msg = format!(
        "# Fatal error, can't open config file '{}': No such file or directory",
        dir.path("nonexist.conf").display()
    );
    assert!(stdout.contains(&msg), "{stdout}");
    let inc = dir.write("inc-missing.conf", &format!("include {}\n", dir.path("missing.conf").display()));
    let (status, stdout, _) = run_to_exit(&dir, &[inc.to_str().unwrap()], None);
    assert_eq!(status.code(), Some(1));
    assert!(stdout.contains("can't open config file"), "{stdout}");

    // Nothing to listen on.
    let (status, stdout, _) = run_to_exit(&dir, &["--port", "0"], None);
    assert_eq!(status.code(), Some(1));
    assert!(stdout.contains("# Configured to not listen anywhere, exiting."), "{stdout}");
}

#[test]
fn unbuilt_features_are_refused_at_start_up() {
    let dir = TempDir::new("refused");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--cluster-enabled", "yes"], "cluster-enabled yes is not supported yet by oxkey (needs cluster mode)\n"),
        (vec!["--tls-port", "6380"], "tls-port 6380 is not supported yet by oxkey (needs TLS)\n"),
        (vec!["--daemonize", "yes"], "daemonize yes is not supported yet by oxkey (needs daemonizing)\n"),
        (
            vec!["--replicaof", "127.0.0.1", "6379"],
            "replicaof 127.0.0.1 6379 is not supported yet by oxkey (needs replication)\n",
        ),
        (
            vec!["--slaveof", "127.0.0.1 6379"],
            "slaveof 127.0.0.1 6379 is not supported yet by oxkey (needs replication)\n",
        ),
        (
            vec!["--enable-module-command", "yes"],
            "enable-module-command yes is not supported yet by oxkey (needs modules)\n",
        ),
        (vec!["--loadmodule", "/x.so"], "loadmodule is not supported yet by oxkey (needs modules)\n"),
        (vec!["--user", "alice", "on"], "user is not supported yet by oxkey (needs ACL users and files)\n"),
        (
            vec!["--aclfile", "users.acl"],
            "aclfile users.acl is not supported yet by oxkey (needs ACL users and files)\n",
        ),
        (vec!["--rename-command", "flushall", ""], "rename-command is not supported yet by oxkey\n"),
        (vec!["--rename-command", "nosuch", ""], "No such command in rename-command\n"),
        (
            vec!["--lazyfree-lazy-user-flush", "yes"],
            "lazyfree-lazy-user-flush yes is not supported yet by oxkey (needs lazy freeing)\n",
        ),
        (
            vec!["--activedefrag", "yes"],
            "activedefrag yes is not supported yet by oxkey (needs active defragmentation)\n",
        ),
        (
            vec!["--mymodule.option", "1"],
            "mymodule.option is not supported yet by oxkey (module configurations need modules)\n",
        ),
    ];
    for (args, expected) in cases {
        let (status, _, stderr) = run_to_exit(&dir, &args, None);
        assert_eq!(status.code(), Some(1), "{args:?}");
        assert!(report(&stderr).ends_with(expected), "{args:?}: {stderr}");
    }

    // The values that leave those features off are accepted.
    let s = Server::start(
        &dir,
        &[
            "--appendonly",
            "no",
            "--save",
            "",
            "--cluster-enabled",
            "no",
            "--tls-port",
            "0",
            "--enable-module-command",
            "no",
            "--enable-protected-configs",
            "no",
            "--maxmemory",
            "0",
            "--lazyfree-lazy-user-flush",
            "no",
            "--replicaof",
            "no",
            "one",
            "--notify-keyspace-events",
            "g$",
            "--aclfile",
            "",
            "--hash-max-listpack-entries",
            "1000",
            "--maxmemory-policy",
            "allkeys-lfu",
            "--lfu-log-factor",
            "20",
        ],
    );
    let mut c = s.conn();
    for (name, value) in [
        ("appendonly", "no"),
        ("maxmemory", "0"),
        ("replicaof", ""),
        ("notify-keyspace-events", "g$"),
        ("hash-max-listpack-entries", "1000"),
        ("maxmemory-policy", "allkeys-lfu"),
        ("lfu-log-factor", "20"),
    ] {
        assert_eq!(get(&mut c, name), value, "{name}");
    }
}

#[test]
fn config_set_refuses_unbuilt_features() {
    let dir = TempDir::new("set-refused");
    let s = Server::start(&dir, &[]);
    let mut c = s.conn();
    let failed =
        |name: &str, why: &str| err(&format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"));
    // RDB persistence is built: save points are accepted.
    assert_eq!(c.cmd(&["CONFIG", "SET", "save", "3600 1"]), Resp::ok());
    // Eviction is built: a memory limit is accepted.
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "1gb"]), Resp::ok());
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "min-slaves-to-write", "1"]),
        failed("min-slaves-to-write", "min-slaves-to-write 1 is not supported yet by oxkey (needs replication)")
    );
    assert_eq!(c.cmd(&["CONFIG", "SET", "shutdown-on-sigterm", "save now"]), Resp::ok());
    let other = (s.port + 1).to_string();
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "port", &other]),
        failed("port", "changing port at run time is not supported yet by oxkey (it is applied at start-up)")
    );
    // The current listeners are fine, and so are the "off" values.
    assert_eq!(c.cmd(&["CONFIG", "SET", "port", &s.port.to_string(), "bind", "127.0.0.1"]), Resp::ok());
    assert_eq!(c.cmd(&["CONFIG", "SET", "appendonly", "no", "save", "", "maxmemory", "0"]), Resp::ok());
    assert_eq!(c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "gx"]), Resp::ok());
    assert_eq!(get(&mut c, "notify-keyspace-events"), "gx");
    // A refusal leaves the other parameters of the call unchanged.
    assert!(matches!(c.cmd(&["CONFIG", "SET", "hz", "50", "min-slaves-to-write", "1"]), Resp::Error(_)));
    assert_eq!(get(&mut c, "hz"), "10");
}

#[test]
fn config_get_and_set_basics() {
    let dir = TempDir::new("get-set");
    let s = Server::start(&dir, &[]);
    let mut c = s.conn();
    // Named as asked; aliases are names of their own.
    assert_eq!(c.cmd(&["CONFIG", "GET", "HZ"]), Resp::Array(Some(vec![bulk("HZ"), bulk("10")])));
    assert_eq!(c.cmd(&["CONFIG", "GET", "slaveof"]), Resp::Array(Some(vec![bulk("slaveof"), bulk("")])));
    assert_eq!(c.cmd(&["CONFIG", "GET", "hz", "HZ", "hz*"]), Resp::Array(Some(vec![bulk("hz"), bulk("10")])));
    match c.cmd(&["CONFIG", "GET", "*"]) {
        Resp::Array(Some(v)) => {
            let names: Vec<&Resp> = v.iter().step_by(2).collect();
            // Redis 7.0.15 lists 192 names; 7.2 adds four.
            assert_eq!(names.len(), 196);
            for n in ["replica-read-only", "slave-read-only", "locale-collate", "set-max-listpack-entries"] {
                assert!(names.contains(&&bulk(n)), "{n}");
            }
            assert!(!names.contains(&&bulk("key-load-delay")), "hidden parameters need their exact name");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(get(&mut c, "key-load-delay"), "0");
    // Redis 7.2 parameters and values.
    assert_eq!(get(&mut c, "set-max-listpack-entries"), "128");
    assert_eq!(get(&mut c, "set-max-listpack-value"), "64");
    assert_eq!(c.cmd(&["CONFIG", "SET", "loglevel", "nothing"]), Resp::ok());
    assert_eq!(get(&mut c, "loglevel"), "nothing");
    assert_eq!(c.cmd(&["CONFIG", "SET", "loglevel", "notice", "locale-collate", "C"]), Resp::ok());
    assert_eq!(get(&mut c, "locale-collate"), "C");
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "locale-collate", "xx_NOWHERE.bogus"]),
        err("ERR CONFIG SET failed (possibly related to argument 'locale-collate') - Invalid locale name")
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "cluster-announce-human-nodename", "a{b"]),
        err("ERR CONFIG SET failed (possibly related to argument 'cluster-announce-human-nodename') - Announced human node name contained invalid character")
    );
    // Settings take effect: the slow log keeps at most slowlog-max-len.
    assert_eq!(c.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "0", "slowlog-max-len", "2"]), Resp::ok());
    for _ in 0..5 {
        c.cmd(&["PING"]);
    }
    assert_eq!(c.cmd(&["SLOWLOG", "LEN"]), Resp::Int(2));
    // Secrets are redacted in the slow log, as in Redis 7.0.15.
    assert_eq!(c.cmd(&["CONFIG", "SET", "slowlog-max-len", "10"]), Resp::ok());
    assert_eq!(c.cmd(&["CONFIG", "SET", "masterauth", "secret", "hz", "10", "masteruser", "u"]), Resp::ok());
    match c.cmd(&["SLOWLOG", "GET", "1"]) {
        Resp::Array(Some(entries)) => match &entries[0] {
            Resp::Array(Some(e)) => assert_eq!(
                e[3],
                Resp::Array(Some(
                    ["CONFIG", "SET", "masterauth", "(redacted)", "hz", "10", "masteruser", "(redacted)"]
                        .map(bulk)
                        .to_vec()
                ))
            ),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    // requirepass applies to new connections.
    assert_eq!(c.cmd(&["CONFIG", "SET", "requirepass", "s3cret"]), Resp::ok());
    let mut other = s.conn();
    assert_eq!(other.cmd(&["GET", "k"]), err("NOAUTH Authentication required."));
    assert_eq!(other.cmd(&["AUTH", "s3cret"]), Resp::ok());
    // RESP3: a map.
    assert!(matches!(other.cmd(&["HELLO", "3"]), Resp::Map(_)));
    assert_eq!(other.cmd(&["CONFIG", "GET", "hz"]), Resp::Map(vec![(bulk("hz"), bulk("10"))]));
    assert_eq!(other.cmd(&["CONFIG", "GET", "nosuch"]), Resp::Map(vec![]));
}

#[test]
fn protected_configs_and_dir() {
    let dir = TempDir::new("protected");
    std::fs::create_dir_all(dir.path("sub/inner")).expect("mkdir");
    // Redis chdirs into `dir`; CONFIG GET prints the absolute path.
    let s = Server::start(&dir, &["--dir", "sub"]);
    let mut c = s.conn();
    assert_eq!(get(&mut c, "dir"), dir.path("sub").to_str().unwrap());
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "dir", "inner"]),
        err("ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config")
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "dbfilename", "x.rdb"]),
        err("ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config")
    );
    drop(s);

    for setting in ["yes", "local"] {
        let s = Server::start(&dir, &["--dir", "sub", "--enable-protected-configs", setting]);
        let mut c = s.conn();
        assert_eq!(c.cmd(&["CONFIG", "SET", "dir", "inner"]), Resp::ok(), "{setting}");
        assert_eq!(get(&mut c, "dir"), dir.path("sub/inner").to_str().unwrap());
        assert_eq!(
            c.cmd(&["CONFIG", "SET", "dir", "/no/such/dir"]),
            err("ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or directory")
        );
        // A failed CONFIG SET puts the directory back.
        assert!(matches!(c.cmd(&["CONFIG", "SET", "dir", "..", "hz", "x"]), Resp::Error(_)));
        assert_eq!(get(&mut c, "dir"), dir.path("sub/inner").to_str().unwrap());
        assert_eq!(
            c.cmd(&["CONFIG", "SET", "dbfilename", "a/b.rdb"]),
            err("ERR CONFIG SET failed (possibly related to argument 'dbfilename') - dbfilename can't be a path, just a filename")
        );
        assert_eq!(c.cmd(&["CONFIG", "SET", "dbfilename", "x.rdb"]), Resp::ok());
        assert_eq!(get(&mut c, "dbfilename"), "x.rdb");
    }
}

#[test]
fn config_resetstat_clears_statistics() {
    let dir = TempDir::new("resetstat");
    let s = Server::start(&dir, &[]);
    let mut c = s.conn();
    c.cmd(&["SET", "a", "b"]);
    c.cmd(&["GET", "a"]);
    assert!(matches!(c.cmd(&["NOSUCHCMD"]), Resp::Error(_)));
    assert!(info(&mut c, "commandstats").contains("cmdstat_set:calls=1,"));
    assert!(info(&mut c, "errorstats").contains("errorstat_ERR:count=1"));
    assert_eq!(c.cmd(&["CONFIG", "RESETSTAT"]), Resp::ok());
    // As Redis 7.0.15: only the RESETSTAT call itself is counted.
    let cmdstats = info(&mut c, "commandstats");
    let lines: Vec<&str> = cmdstats.lines().filter(|l| l.starts_with("cmdstat_")).collect();
    assert_eq!(lines.len(), 1, "{cmdstats}");
    assert!(lines[0].starts_with("cmdstat_config|resetstat:calls=1,"), "{cmdstats}");
    assert!(!info(&mut c, "errorstats").contains("errorstat_"));
    let stats = info(&mut c, "stats");
    assert!(stats.contains("total_error_replies:0\r\n"), "{stats}");
    assert!(stats.contains("keyspace_hits:0\r\n"), "{stats}");
}

#[test]
fn pathological_glob_patterns_are_bounded() {
    let dir = TempDir::new("glob");
    let s = Server::start(&dir, &[]);
    let mut c = s.conn();
    let patterns = [
        "a*".repeat(100_000),
        format!("{}qqq", "*".repeat(200_000)),
        "?".repeat(1_000_000),
        "[".repeat(100_000),
        "*[a-z]*[a-z]".repeat(20_000),
        format!("{}*", "\\*".repeat(50_000)),
    ];
    for p in &patterns {
        let started = Instant::now();
        assert_eq!(c.cmd(&["CONFIG", "GET", p]), Resp::Array(Some(vec![])), "{}", &p[..20]);
        // Bounded work: far below the 10 s read timeout even in debug builds.
        assert!(started.elapsed() < Duration::from_secs(5), "{}", &p[..20]);
    }
    // A long class after a star: Redis 7.0.15 needs about 3 s for each; the
    // replies are Redis's.
    let class = format!("*{}", "[".repeat(100_000));
    assert_eq!(c.cmd(&["CONFIG", "GET", &class]), Resp::Array(Some(vec![])));
    let class = format!("*{}]x", "[a".repeat(50_000));
    assert_eq!(c.cmd(&["CONFIG", "GET", &class]), Resp::Array(Some(vec![bulk("active-defrag-cycle-max"), bulk("25")])));
    // Many patterns in one call.
    let mut args = vec!["CONFIG", "GET"];
    args.extend(std::iter::repeat_n("*a*b*c*d*e*", 20_000));
    assert!(matches!(c.cmd(&args), Resp::Array(Some(_))));
    assert_eq!(c.cmd(&["PING"]), Resp::Simple("PONG".into()));
}

#[test]
fn logfile_and_loglevel() {
    let dir = TempDir::new("log");
    let log = dir.path("server.log");
    let conf = dir.write("log.conf", "hz 10\n");
    let s = Server::start(&dir, &[conf.to_str().unwrap(), "--logfile", log.to_str().unwrap()]);
    let text = std::fs::read_to_string(&log).expect("log file");
    // Redis's line format: pid:role date time.ms level-mark message.
    let ready = text.lines().find(|l| l.contains("Ready to accept connections")).expect("ready line");
    let fields: Vec<&str> = ready.splitn(6, ' ').collect();
    assert!(fields[0].ends_with(":M") && fields[0].trim_end_matches(":M").parse::<u32>().is_ok(), "{ready}");
    assert_eq!(fields[2].len(), 3, "month in {ready}");
    assert_eq!(fields[4].len(), "12:00:00.000".len(), "{ready}");
    assert_eq!(fields[5].chars().next(), Some('*'), "{ready}");
    assert!(s.stdout().is_empty(), "nothing on stdout with a log file: {}", s.stdout());
    drop(s);

    // warning: no notices; CONFIG SET loglevel applies at once.
    std::fs::remove_file(&log).expect("remove log");
    let s = Server::start(&dir, &[conf.to_str().unwrap(), "--logfile", log.to_str().unwrap(), "--loglevel", "warning"]);
    let mut c = s.conn();
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!read().contains("Ready to accept"), "{}", read());
    assert_eq!(c.cmd(&["CONFIG", "REWRITE"]), Resp::ok());
    assert_eq!(read().matches("# CONFIG REWRITE executed with success.").count(), 1, "{}", read());
    assert_eq!(c.cmd(&["CONFIG", "SET", "loglevel", "nothing"]), Resp::ok());
    assert_eq!(c.cmd(&["CONFIG", "REWRITE"]), Resp::ok());
    assert_eq!(read().matches("CONFIG REWRITE executed").count(), 1, "{}", read());
    assert_eq!(c.cmd(&["CONFIG", "SET", "loglevel", "warning"]), Resp::ok());
    assert_eq!(c.cmd(&["CONFIG", "REWRITE"]), Resp::ok());
    assert_eq!(read().matches("CONFIG REWRITE executed").count(), 2, "{}", read());
}

#[test]
fn pidfile_is_written_and_removed() {
    let dir = TempDir::new("pid");
    let pidfile = dir.path("oxkey.pid");
    let mut s = Server::start(&dir, &["--pidfile", pidfile.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&pidfile).expect("pid file"), format!("{}\n", s.child.id()));
    assert_eq!(get(&mut s.conn(), "pidfile"), pidfile.to_str().unwrap());
    let mut c = s.conn();
    c.send_cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    assert!(s.wait_exit().success());
    assert!(!pidfile.exists());
}

#[test]
fn version_and_help() {
    let dir = TempDir::new("version");
    let (status, stdout, _) = run_to_exit(&dir, &["-v"], None);
    assert!(status.success());
    assert!(stdout.starts_with("oxkey server v=") && stdout.contains(" redis_version=7.2.4 "), "{stdout}");
    let (status, stdout2, _) = run_to_exit(&dir, &["--version", "--port", "1"], None);
    assert!(status.success());
    assert_eq!(stdout, stdout2);
    for flag in ["-h", "--help"] {
        let (status, stdout, stderr) = run_to_exit(&dir, &[flag], None);
        // As redis-server: usage on stderr, exit code 1.
        assert_eq!(status.code(), Some(1));
        assert!(stdout.is_empty());
        assert!(stderr.starts_with("Usage: ") && stderr.contains(" -v or --version"), "{stderr}");
    }
}

#[test]
fn includes_with_wildcards_and_multi_argument_lines() {
    let dir = TempDir::new("wildcards");
    std::fs::create_dir_all(dir.path("conf.d")).expect("mkdir");
    std::fs::create_dir_all(dir.path("empty.d")).expect("mkdir");
    dir.write("conf.d/b.conf", "hz 12\n");
    dir.write("conf.d/a.conf", "hz 11\ntimeout 7\n");
    dir.write("conf.d/ignored.txt", "hz 99\n");
    let conf = dir.write(
        "main.conf",
        &format!(
            "include {}/conf.d/*.conf\ninclude {}/empty.d/*.conf\nclient-output-buffer-limit normal 1mb 2mb 3 pubsub 1 2 3\n",
            dir.0.display(),
            dir.0.display()
        ),
    );
    // `--save` without a value before another option means `save ""`; a
    // multi-argument parameter takes its values as one quoted string too.
    let s = Server::start(
        &dir,
        &[
            conf.to_str().unwrap(),
            "--save",
            "--oom-score-adj-values",
            "1 2 3",
            "--latency-tracking-info-percentiles",
            "90",
            "99.99",
        ],
    );
    let mut c = s.conn();
    // Alphabetical order: b.conf after a.conf.
    assert_eq!(get(&mut c, "hz"), "12");
    assert_eq!(get(&mut c, "timeout"), "7");
    assert_eq!(get(&mut c, "save"), "");
    assert_eq!(get(&mut c, "oom-score-adj-values"), "1 2 3");
    assert_eq!(get(&mut c, "latency-tracking-info-percentiles"), "90 99.99");
    assert_eq!(
        get(&mut c, "client-output-buffer-limit"),
        "normal 1048576 2097152 3 slave 268435456 67108864 60 pubsub 1 2 3"
    );
    assert_eq!(get(&mut c, "bind"), "127.0.0.1");
}

#[test]
fn quoted_values_from_the_command_line() {
    let dir = TempDir::new("quoted");
    let s = Server::start(&dir, &["--requirepass", "a b\"c\\d\n", "--masterauth", "x\ty"]);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["AUTH", "a b\"c\\d\n"]), Resp::ok());
    assert_eq!(get(&mut c, "requirepass"), "a b\"c\\d\n");
    assert_eq!(get(&mut c, "masterauth"), "x\ty");
}

#[test]
fn shipped_config_file_is_the_default_configuration() {
    let dir = TempDir::new("shipped");
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/conf/oxkey.conf");
    let everything = |s: &Server| match s.conn().cmd(&["CONFIG", "GET", "*"]) {
        Resp::Array(Some(v)) => {
            let mut pairs: Vec<(Resp, Resp)> = v.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect();
            pairs.retain(|(name, _)| *name != bulk("port"));
            pairs.sort_by_key(|(name, _)| format!("{name:?}"));
            pairs
        }
        other => panic!("{other:?}"),
    };
    let with_file = Server::start(&dir, &[shipped]);
    let without = Server::start(&dir, &[]);
    // Both run with `--bind 127.0.0.1` (the file says `127.0.0.1 -::1`).
    assert_eq!(everything(&with_file), everything(&without));
}
