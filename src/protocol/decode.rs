//! Request decoding: RESP multibulk (`*N\r\n$L\r\n...`) and inline commands,
//! with the limits and exact error texts of Redis's `networking.c`.
//!
//! The decoder keeps its position between reads, so a request that arrives
//! in many pieces is scanned once. Nothing is ever allocated from a length
//! a client announced: argument vectors grow as arguments actually arrive.

use bytes::{Buf, Bytes, BytesMut};

/// Longest inline request or multibulk/bulk header line, as Redis's
/// PROTO_INLINE_MAX_SIZE.
pub const INLINE_MAX: usize = 64 * 1024;

/// Size limits in force for one client.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_bulk_len: i64,
    /// Clients that have not authenticated get Redis's stricter caps.
    pub authenticated: bool,
}

/// A protocol error: the text after `-ERR `. Redis closes the connection
/// after replying with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

#[derive(Default)]
pub struct Decoder {
    /// Arguments of the multibulk request being read.
    args: Vec<Bytes>,
    /// Arguments still expected for that request; 0 when between requests.
    remaining: usize,
    /// Length of the bulk string whose header was read, if any.
    bulk: Option<usize>,
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while at + 1 < buf.len() {
        let i = buf[at..].iter().position(|&b| b == b'\r')?;
        at += i;
        if buf.get(at + 1) == Some(&b'\n') {
            return Some(at);
        }
        at += 1;
    }
    None
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// True while a request is partly read.
    pub fn in_progress(&self) -> bool {
        self.remaining > 0
    }

    /// Decodes the next complete request from `buf`. `Ok(None)` means more
    /// bytes are needed. Empty requests (`*0`, blank inline lines) are skipped.
    pub fn decode(&mut self, buf: &mut BytesMut, limits: Limits) -> Result<Option<Vec<Bytes>>, DecodeError> {
        loop {
            if self.remaining == 0 {
                if buf.is_empty() {
                    return Ok(None);
                }
                if buf[0] != b'*' {
                    match self.decode_inline(buf)? {
                        Some(args) if args.is_empty() => continue,
                        other => return Ok(other),
                    }
                }
                let Some(end) = find_crlf(buf, 1) else {
                    if buf.len() > INLINE_MAX {
                        return Err(err("too big mbulk count string"));
                    }
                    return Ok(None);
                };
                let n = crate::util::parse_i64(&buf[1..end])
                    .filter(|&n| n <= i32::MAX as i64)
                    .ok_or_else(|| err("invalid multibulk length"))?;
                if n > 10 && !limits.authenticated {
                    return Err(err("unauthenticated multibulk length"));
                }
                buf.advance(end + 2);
                if n <= 0 {
                    continue;
                }
                self.remaining = n as usize;
                self.args = Vec::with_capacity((n as usize).min(64));
            }
            while self.remaining > 0 {
                let len = match self.bulk {
                    Some(len) => len,
                    None => {
                        if buf.is_empty() {
                            return Ok(None);
                        }
                        let Some(end) = find_crlf(buf, 0) else {
                            if buf.len() > INLINE_MAX {
                                return Err(err("too big bulk count string"));
                            }
                            return Ok(None);
                        };
                        if buf[0] != b'$' {
                            return Err(err(&format!("expected '$', got '{}'", buf[0] as char)));
                        }
                        let len = crate::util::parse_i64(&buf[1..end])
                            .filter(|&l| l >= 0 && l <= limits.max_bulk_len)
                            .ok_or_else(|| err("invalid bulk length"))?;
                        if len > 16384 && !limits.authenticated {
                            return Err(err("unauthenticated bulk length"));
                        }
                        buf.advance(end + 2);
                        self.bulk = Some(len as usize);
                        len as usize
                    }
                };
                if buf.len() < len + 2 {
                    // Make room for the rest of a large argument in one go (so
                    // that it is not copied as the buffer grows) once an eighth
                    // of it has really arrived: what is reserved stays within
                    // a few times what the client sent, whatever it announced.
                    let arrived = buf.len();
                    if len >= 32 * 1024 && buf.capacity() < len + 2 && arrived >= 16 * 1024 && arrived >= len / 8 {
                        buf.reserve(len + 2 - arrived);
                    }
                    return Ok(None);
                }
                let arg = buf.split_to(len).freeze();
                buf.advance(2);
                self.bulk = None;
                self.args.push(arg);
                self.remaining -= 1;
            }
            return Ok(Some(std::mem::take(&mut self.args)));
        }
    }

    fn decode_inline(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, DecodeError> {
        let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
            if buf.len() > INLINE_MAX {
                return Err(err("too big inline request"));
            }
            return Ok(None);
        };
        let mut line_end = nl;
        if line_end > 0 && buf[line_end - 1] == b'\r' {
            line_end -= 1;
        }
        let args = split_args(&buf[..line_end]).ok_or_else(|| err("unbalanced quotes in request"))?;
        buf.advance(nl + 1);
        Ok(Some(args.into_iter().map(Bytes::from).collect()))
    }
}

fn err(msg: &str) -> DecodeError {
    DecodeError(format!("Protocol error: {msg}"))
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Splits a line into arguments like Redis's `sdssplitargs`: spaces
/// separate, double quotes take C escapes (`\n`, `\x41`), single quotes
/// take only `\'`. A closing quote must be followed by a space or the end.
/// Returns None on unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= line.len() {
            return Some(out);
        }
        let mut cur = Vec::new();
        let (mut in_dq, mut in_sq) = (false, false);
        loop {
            if in_dq {
                let c = *line.get(i)?;
                if c == b'\\' && i + 3 < line.len() && line[i + 1] == b'x' {
                    if let (Some(h), Some(l)) = (hex_val(line[i + 2]), hex_val(line[i + 3])) {
                        cur.push(h * 16 + l);
                        i += 4;
                        continue;
                    }
                }
                if c == b'\\' && i + 1 < line.len() {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < line.len() && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
                i += 1;
            } else if in_sq {
                let c = *line.get(i)?;
                if c == b'\\' && line.get(i + 1) == Some(&b'\'') {
                    cur.push(b'\'');
                    i += 2;
                    continue;
                } else if c == b'\'' {
                    if i + 1 < line.len() && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                }
                cur.push(c);
                i += 1;
            } else {
                match line.get(i) {
                    None => break,
                    Some(c) if c.is_ascii_whitespace() => break,
                    Some(b'"') => in_dq = true,
                    Some(b'\'') => in_sq = true,
                    Some(&c) => cur.push(c),
                }
                i += 1;
            }
        }
        out.push(cur);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTH: Limits = Limits { max_bulk_len: 512 * 1024 * 1024, authenticated: true };

    fn all(input: &[u8]) -> Result<Vec<Vec<Bytes>>, DecodeError> {
        let mut d = Decoder::new();
        let mut buf = BytesMut::from(input);
        let mut v = Vec::new();
        while let Some(a) = d.decode(&mut buf, AUTH)? {
            v.push(a);
        }
        Ok(v)
    }

    #[test]
    fn multibulk_and_inline() {
        let v = all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n  set a \"b c\"\r\n\r\n*0\r\n").unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0], vec![Bytes::from("GET"), Bytes::from("k")]);
        assert_eq!(v[1], vec![Bytes::from("PING")]);
        assert_eq!(v[2], vec![Bytes::from("set"), Bytes::from("a"), Bytes::from("b c")]);
    }

    #[test]
    fn byte_at_a_time() {
        let input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n";
        let mut d = Decoder::new();
        let mut buf = BytesMut::new();
        let mut got = None;
        for &b in input.iter() {
            buf.extend_from_slice(&[b]);
            if let Some(a) = d.decode(&mut buf, AUTH).unwrap() {
                got = Some(a);
            }
        }
        assert_eq!(got.unwrap()[2], Bytes::from("hello"));
    }

    #[test]
    fn errors() {
        assert_eq!(all(b"*x\r\n").unwrap_err().0, "Protocol error: invalid multibulk length");
        assert_eq!(all(b"*1\r\n+x\r\n").unwrap_err().0, "Protocol error: expected '$', got '+'");
        assert_eq!(all(b"*1\r\n$-1\r\n").unwrap_err().0, "Protocol error: invalid bulk length");
        assert_eq!(all(b"set \"a\r\n").unwrap_err().0, "Protocol error: unbalanced quotes in request");
        assert_eq!(all(b"set \"a\"b\r\n").unwrap_err().0, "Protocol error: unbalanced quotes in request");
        let unauth = Limits { authenticated: false, ..AUTH };
        let mut buf = BytesMut::from(&b"*100\r\n"[..]);
        assert_eq!(
            Decoder::new().decode(&mut buf, unauth).unwrap_err().0,
            "Protocol error: unauthenticated multibulk length"
        );
    }

    #[test]
    fn huge_counts_do_not_allocate() {
        // Must return quickly, asking for more data, without reserving 2^31 slots.
        let mut d = Decoder::new();
        let mut buf = BytesMut::from(&b"*2147483647\r\n$536870912\r\nab"[..]);
        assert_eq!(d.decode(&mut buf, AUTH).unwrap(), None);
        assert!(buf.capacity() < 1 << 20);
    }

    #[test]
    fn split_args_escapes() {
        let v = split_args(br#"a "\x41\n" 'it\'s'"#).unwrap();
        assert_eq!(v, vec![b"a".to_vec(), b"A\n".to_vec(), b"it's".to_vec()]);
    }
}
