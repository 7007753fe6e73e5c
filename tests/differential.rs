//! Differential tests: every script `tests/diff/*.txt` runs against oxkey and
//! against a real redis-server, one line at a time, and the raw RESP replies
//! must be identical. The script format is described in tests/diff/README.md.
//!
//! Every mismatch of every file is reported (`file:line: CMD`, then both
//! replies) before the test fails. `DIFF=strings,keys` runs only those files.

mod common;
mod reference;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use oxkey::protocol::decode::split_args;
use reference::RedisServer;

/// How long a reply may take before the line counts as unanswered. Blocking
/// commands in scripts must time out well before this.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// Files run at the same time, each on its own pair of servers.
const WORKERS: usize = 4;

// ---------------------------------------------------------------------------
// Scripts

/// How two replies are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    /// Byte for byte.
    Exact,
    /// After sorting the elements of every aggregate (map entries as pairs).
    Sorted,
    /// Only the type of each reply and the element count of aggregates.
    Shape,
}

#[derive(Debug, PartialEq)]
enum Step {
    Command {
        args: Vec<Vec<u8>>,
        compare: Compare,
    },
    Sleep(Duration),
    /// Switch both connections to RESP3 (HELLO 3) for the rest of the file.
    Resp3,
}

#[derive(Debug, PartialEq)]
struct Line {
    no: usize,
    text: String,
    step: Step,
}

fn parse_command(text: &str, compare: Compare) -> Result<Step, String> {
    let args = split_args(text.as_bytes()).ok_or("unbalanced quotes")?;
    if args.is_empty() {
        return Err("directive without a command".into());
    }
    Ok(Step::Command { args, compare })
}

/// Parses a script; an error names the first bad line.
fn parse_script(text: &str) -> Result<Vec<Line>, String> {
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let step = match line.strip_prefix('!') {
            None => parse_command(line, Compare::Exact),
            Some(directive) => {
                let (name, rest) = directive.split_once(char::is_whitespace).unwrap_or((directive, ""));
                let rest = rest.trim();
                match name {
                    "sorted" => parse_command(rest, Compare::Sorted),
                    "type" => parse_command(rest, Compare::Shape),
                    "sleep" => match rest.parse::<u64>() {
                        Ok(ms) if ms <= 60_000 => Ok(Step::Sleep(Duration::from_millis(ms))),
                        _ => Err(format!("!sleep takes milliseconds (0-60000), got {rest:?}")),
                    },
                    "resp3" if rest.is_empty() => Ok(Step::Resp3),
                    "resp3" => Err("!resp3 takes no argument".into()),
                    other => Err(format!("unknown directive !{other}")),
                }
            }
        };
        let step = step.map_err(|e| format!("line {no}: {e}"))?;
        lines.push(Line { no, text: line.to_string(), step });
    }
    Ok(lines)
}

// ---------------------------------------------------------------------------
// Replies

/// One reply exactly as received: its bytes, and its elements if it is an
/// aggregate (a map's or attribute's keys and values alternate).
#[derive(Debug, Clone, PartialEq)]
struct Reply {
    raw: Vec<u8>,
    /// Length of the first line, CRLF included.
    head: usize,
    items: Option<Vec<Reply>>,
}

#[derive(Debug)]
enum ReadError {
    /// The server closed the connection before sending any byte.
    Closed,
    Other(String),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe | io::ErrorKind::UnexpectedEof => {
                ReadError::Closed
            }
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                ReadError::Other(format!("no reply within {} s", REPLY_TIMEOUT.as_secs()))
            }
            _ => ReadError::Other(e.to_string()),
        }
    }
}

fn read_reply(r: &mut impl BufRead) -> Result<Reply, ReadError> {
    let mut raw = Vec::new();
    if r.read_until(b'\n', &mut raw)? == 0 {
        return Err(ReadError::Closed);
    }
    if !raw.ends_with(b"\r\n") || raw.len() < 3 {
        return Err(ReadError::Other(format!("malformed reply line {}", show(&raw))));
    }
    let head = raw.len();
    let len = || -> Result<i64, ReadError> {
        std::str::from_utf8(&raw[1..head - 2])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| ReadError::Other(format!("bad length in {}", show(&raw))))
    };
    let items = match raw[0] {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => None,
        b'$' | b'=' | b'!' => {
            let n = len()?;
            if n >= 0 {
                let body = r.take(n as u64 + 2).read_to_end(&mut raw)?;
                if body as i64 != n + 2 || !raw.ends_with(b"\r\n") {
                    return Err(ReadError::Other(format!("truncated bulk {}", show(&raw))));
                }
            }
            None
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = len()?;
            let count = if matches!(raw[0], b'%' | b'|') { n.saturating_mul(2) } else { n };
            let mut items = Vec::new();
            for _ in 0..count.max(0) {
                let item = read_reply(r)?;
                raw.extend_from_slice(&item.raw);
                items.push(item);
            }
            if raw[0] == b'|' {
                // An attribute comes with the reply it annotates.
                let item = read_reply(r)?;
                raw.extend_from_slice(&item.raw);
                items.push(item);
            }
            Some(items)
        }
        _ => return Err(ReadError::Other(format!("unknown reply type {}", show(&raw)))),
    };
    Ok(Reply { raw, head, items })
}

/// The reply with the elements of every aggregate sorted (map entries as
/// key/value pairs), re-encoded: equal for replies that differ only in order.
fn sorted(r: &Reply) -> Vec<u8> {
    let Some(items) = &r.items else { return r.raw.clone() };
    let mut parts: Vec<Vec<u8>> = if matches!(r.raw[0], b'%' | b'|') {
        items.chunks(2).map(|pair| pair.iter().flat_map(sorted).collect()).collect()
    } else {
        items.iter().map(sorted).collect()
    };
    parts.sort();
    let mut out = r.raw[..r.head].to_vec();
    parts.into_iter().for_each(|p| out.extend(p));
    out
}

/// The type of the reply and, recursively, of its elements, with the
/// element count of aggregates; null replies are told apart from values.
fn shape(r: &Reply) -> String {
    let ty = r.raw[0] as char;
    match &r.items {
        Some(items) => {
            let inner: Vec<String> = items.iter().map(shape).collect();
            format!("{ty}{}[{}]", items.len(), inner.join(","))
        }
        None if r.raw.starts_with(b"$-1\r\n") || r.raw.starts_with(b"*-1\r\n") => "nil".into(),
        None => ty.to_string(),
    }
}

/// Bytes as an escaped string, cut when very long.
fn show(b: &[u8]) -> String {
    const MAX: usize = 400;
    let mut s = String::from("\"");
    for &c in b.iter().take(MAX) {
        match c {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    if b.len() > MAX {
        s.push_str(&format!("... ({} bytes)", b.len()));
    }
    s
}

// ---------------------------------------------------------------------------
// Running a script

struct Conn {
    port: u16,
    resp3: bool,
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn connect(port: u16) -> io::Result<Conn> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(REPLY_TIMEOUT))?;
        s.set_nodelay(true)?;
        Ok(Conn { port, resp3: false, reader: BufReader::new(s) })
    }

    fn send(&mut self, args: &[Vec<u8>]) -> Result<(), ReadError> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        Ok(self.reader.get_mut().write_all(&common::encode_cmd(&args))?)
    }

    fn read(&mut self) -> Result<Reply, ReadError> {
        read_reply(&mut self.reader)
    }

    fn call(&mut self, args: &[&str]) -> Result<Reply, ReadError> {
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        self.send(&args)?;
        self.read()
    }

    /// A new connection in the protocol of the old one (other connection
    /// state, like the selected db, is lost).
    fn reconnect(&mut self) -> io::Result<()> {
        let resp3 = self.resp3;
        *self = Conn::connect(self.port)?;
        if resp3 {
            let _ = self.call(&["HELLO", "3"]);
            self.resp3 = true;
        }
        Ok(())
    }
}

type Outcome = Result<Reply, ReadError>;

fn describe(o: &Outcome) -> String {
    match o {
        Ok(r) => show(&r.raw),
        Err(ReadError::Closed) => "(connection closed)".into(),
        Err(ReadError::Other(e)) => format!("({e})"),
    }
}

fn same(compare: Compare, a: &Outcome, b: &Outcome) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => match compare {
            Compare::Exact => a.raw == b.raw,
            Compare::Sorted => sorted(a) == sorted(b),
            Compare::Shape => shape(a) == shape(b),
        },
        (Err(ReadError::Closed), Err(ReadError::Closed)) => true,
        _ => false,
    }
}

/// Sends one command to both servers and reads both replies. A connection
/// the server closed (after QUIT, say) is reopened; if both were closed
/// before this command, it is sent again on the new connections. Fails when
/// a server no longer accepts connections (it died).
fn exchange(ox: &mut Conn, re: &mut Conn, args: &[Vec<u8>]) -> Result<(Outcome, Outcome), String> {
    for attempt in 0..2 {
        let o = ox.send(args).and_then(|_| ox.read());
        let r = re.send(args).and_then(|_| re.read());
        let o_closed = matches!(o, Err(ReadError::Closed));
        let r_closed = matches!(r, Err(ReadError::Closed));
        if o.is_err() {
            ox.reconnect().map_err(|e| {
                format!("oxkey-server no longer accepts connections ({e}); it answered {}", describe(&o))
            })?;
        }
        if r.is_err() {
            re.reconnect().map_err(|e| {
                format!("redis-server no longer accepts connections ({e}); it answered {}", describe(&r))
            })?;
        }
        if !(o_closed && r_closed && attempt == 0) {
            return Ok((o, r));
        }
    }
    unreachable!("the second attempt always returns")
}

/// Runs one script on a fresh pair of servers; returns the mismatches, and
/// an error if the script could not run to its end.
fn run_file(path: &Path) -> (Vec<String>, Option<String>) {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match run_script(&name, path) {
        Ok(m) => (m, None),
        Err((m, e)) => (m, Some(format!("{name}: {e}"))),
    }
}

fn run_script(name: &str, path: &Path) -> Result<Vec<String>, (Vec<String>, String)> {
    let fail = |e: String| (Vec::new(), e);
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let lines = parse_script(&text).map_err(fail)?;
    let oxkey = common::TestServer::start();
    let redis = RedisServer::start();
    let mut ox = Conn::connect(oxkey.port).map_err(|e| fail(format!("connect to oxkey: {e}")))?;
    let mut re = Conn::connect(redis.port).map_err(|e| fail(format!("connect to redis: {e}")))?;
    let flush = vec![b"FLUSHALL".to_vec()];
    let (o, r) = exchange(&mut ox, &mut re, &flush).map_err(fail)?;
    if !same(Compare::Exact, &o, &r) {
        return Err(fail(format!("FLUSHALL failed: oxkey {} redis {}", describe(&o), describe(&r))));
    }
    let mut mismatches = Vec::new();
    for line in &lines {
        let (exchanged, compare) = match &line.step {
            Step::Sleep(d) => {
                std::thread::sleep(*d);
                continue;
            }
            Step::Resp3 => {
                // The HELLO maps differ in ids and versions, not in shape.
                let hello = vec![b"HELLO".to_vec(), b"3".to_vec()];
                ox.resp3 = true;
                re.resp3 = true;
                (exchange(&mut ox, &mut re, &hello), Compare::Shape)
            }
            Step::Command { args, compare } => (exchange(&mut ox, &mut re, args), *compare),
        };
        let (o, r) = match exchanged {
            Ok(replies) => replies,
            Err(e) => return Err((mismatches, format!("stopped at line {}: {}: {e}", line.no, line.text))),
        };
        if !same(compare, &o, &r) {
            let how = match compare {
                Compare::Exact => "",
                Compare::Sorted => " (compared sorted)",
                Compare::Shape => " (compared by type)",
            };
            mismatches.push(format!(
                "{name}:{}: {}{how}\n  oxkey: {}\n  redis: {}",
                line.no,
                line.text,
                describe(&o),
                describe(&r)
            ));
        }
    }
    println!("{name}: {} lines, {} mismatches", lines.len(), mismatches.len());
    Ok(mismatches)
}

fn script_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/diff");
    let only: Option<Vec<String>> =
        std::env::var("DIFF").ok().map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/diff exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .filter(|p| {
            let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            only.as_ref().is_none_or(|o| o.contains(&stem))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn scripts_match_redis() {
    if !reference::require_redis("differential tests") {
        return;
    }
    let files = script_files();
    assert!(!files.is_empty(), "no tests/diff/*.txt script selected");
    let queue = Mutex::new(files.iter());
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..WORKERS.min(files.len()) {
            s.spawn(|| loop {
                let Some(path) = queue.lock().expect("queue").next() else { break };
                let res = run_file(path);
                results.lock().expect("results").push(res);
            });
        }
    });
    let mut mismatches = Vec::new();
    let mut broken = Vec::new();
    for (m, error) in results.into_inner().expect("results") {
        mismatches.extend(m);
        broken.extend(error);
    }
    for m in &mismatches {
        eprintln!("{m}");
    }
    for b in &broken {
        eprintln!("SCRIPT STOPPED {b}");
    }
    assert!(
        mismatches.is_empty() && broken.is_empty(),
        "{} mismatches and {} scripts that could not run to the end, in {} files (listed above)",
        mismatches.len(),
        broken.len(),
        files.len()
    );
}

// ---------------------------------------------------------------------------
// The runner's own parsing and comparison

#[cfg(test)]
mod runner {
    use super::*;

    fn args(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|a| a.as_bytes().to_vec()).collect()
    }

    fn reply(bytes: &[u8]) -> Reply {
        let mut r = bytes;
        let rep = read_reply(&mut r).expect("a complete reply");
        assert!(r.is_empty(), "bytes left after the reply");
        rep
    }

    #[test]
    fn parses_commands_comments_and_directives() {
        let script = "# a comment\n\
                      \n\
                      SET k \"a b\\x41\" 'it\\'s'\n\
                      \t  # indented comment\n\
                      !sorted KEYS *\n\
                      !type TIME\n\
                      !sleep 150\n\
                      !resp3\n\
                      GET k   \n";
        let lines = parse_script(script).unwrap();
        let steps: Vec<(usize, &Step)> = lines.iter().map(|l| (l.no, &l.step)).collect();
        assert_eq!(
            steps,
            vec![
                (3, &Step::Command { args: args(&["SET", "k", "a bA", "it's"]), compare: Compare::Exact }),
                (5, &Step::Command { args: args(&["KEYS", "*"]), compare: Compare::Sorted }),
                (6, &Step::Command { args: args(&["TIME"]), compare: Compare::Shape }),
                (7, &Step::Sleep(Duration::from_millis(150))),
                (8, &Step::Resp3),
                (9, &Step::Command { args: args(&["GET", "k"]), compare: Compare::Exact }),
            ]
        );
        assert_eq!(lines[0].text, "SET k \"a b\\x41\" 'it\\'s'");
    }

    #[test]
    fn empty_quoted_argument_is_kept() {
        let lines = parse_script("SET k \"\"\n").unwrap();
        assert_eq!(lines[0].step, Step::Command { args: args(&["SET", "k", ""]), compare: Compare::Exact });
    }

    #[test]
    fn bad_lines_are_reported_with_their_number() {
        for (script, msg) in [
            ("PING\nSET k \"v\n", "line 2: unbalanced quotes"),
            ("!sorted\n", "line 1: directive without a command"),
            ("\n!sleep soon\n", "line 2: !sleep takes milliseconds (0-60000), got \"soon\""),
            ("!sleep 999999\n", "line 1: !sleep takes milliseconds (0-60000), got \"999999\""),
            ("!resp3 now\n", "line 1: !resp3 takes no argument"),
            ("!unordered SMEMBERS s\n", "line 1: unknown directive !unordered"),
        ] {
            assert_eq!(parse_script(script).unwrap_err(), msg, "script {script:?}");
        }
    }

    #[test]
    fn reads_every_reply_type() {
        for raw in [
            &b"+OK\r\n"[..],
            b"-ERR unknown command\r\n",
            b":-5\r\n",
            b"$-1\r\n",
            b"$0\r\n\r\n",
            b"$4\r\na\r\nb\r\n",
            b"*-1\r\n",
            b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n",
            b"%1\r\n+k\r\n,1.5\r\n",
            b"~2\r\n#t\r\n_\r\n",
            b">2\r\n+message\r\n(123\r\n",
            b"=7\r\ntxt:abc\r\n",
            b"!5\r\nERR x\r\n",
            b"|1\r\n+ttl\r\n:3\r\n+value\r\n",
        ] {
            assert_eq!(reply(raw).raw, raw, "{}", show(raw));
        }
        let mut truncated: &[u8] = b"*2\r\n$1\r\na\r\n";
        assert!(matches!(read_reply(&mut truncated), Err(ReadError::Closed)));
        let mut garbage: &[u8] = b"?x\r\n";
        assert!(matches!(read_reply(&mut garbage), Err(ReadError::Other(_))));
    }

    #[test]
    fn sorted_comparison_ignores_order_only() {
        let a = reply(b"*3\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nc\r\n");
        let b = reply(b"*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n");
        let c = reply(b"*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\nd\r\n");
        assert!(same(Compare::Sorted, &Ok(a.clone()), &Ok(b.clone())));
        assert!(!same(Compare::Exact, &Ok(a.clone()), &Ok(b)));
        assert!(!same(Compare::Sorted, &Ok(a), &Ok(c)));
        // Nested: a SCAN reply, and map entries stay pairs.
        let s1 = reply(b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n");
        let s2 = reply(b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\ny\r\n$1\r\nx\r\n");
        assert!(same(Compare::Sorted, &Ok(s1), &Ok(s2)));
        let m1 = reply(b"%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n");
        let m2 = reply(b"%2\r\n+b\r\n:2\r\n+a\r\n:1\r\n");
        let m3 = reply(b"%2\r\n+a\r\n:2\r\n+b\r\n:1\r\n");
        assert!(same(Compare::Sorted, &Ok(m1.clone()), &Ok(m2)));
        assert!(!same(Compare::Sorted, &Ok(m1), &Ok(m3)));
    }

    #[test]
    fn shape_comparison_ignores_values_only() {
        let t1 = reply(b"*2\r\n$10\r\n1700000000\r\n$6\r\n123456\r\n");
        let t2 = reply(b"*2\r\n$10\r\n1700000001\r\n$5\r\n99999\r\n");
        assert!(same(Compare::Shape, &Ok(t1.clone()), &Ok(t2)));
        for other in [&b"*1\r\n$1\r\n1\r\n"[..], b"*2\r\n$1\r\n1\r\n:1\r\n", b"-ERR x\r\n", b"*-1\r\n"] {
            assert!(!same(Compare::Shape, &Ok(t1.clone()), &Ok(reply(other))), "{}", show(other));
        }
        assert!(!same(Compare::Shape, &Ok(reply(b"$-1\r\n")), &Ok(reply(b"$1\r\nx\r\n"))));
    }

    #[test]
    fn closed_connections_compare_equal_only_to_each_other() {
        assert!(same(Compare::Exact, &Err(ReadError::Closed), &Err(ReadError::Closed)));
        assert!(!same(Compare::Exact, &Err(ReadError::Closed), &Ok(reply(b"+OK\r\n"))));
        let timeout = || Err(ReadError::Other("no reply".into()));
        assert!(!same(Compare::Exact, &timeout(), &timeout()));
    }

    #[test]
    fn shows_bytes_escaped() {
        assert_eq!(show(b"+OK\r\n"), "\"+OK\\r\\n\"");
        assert_eq!(show(b"$2\r\n\x00\"\r\n"), "\"$2\\r\\n\\x00\\\"\\r\\n\"");
    }
}
