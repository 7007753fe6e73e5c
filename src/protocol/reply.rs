//! Reply encoding straight into a client's output buffer, for RESP2 or
//! RESP3 as the client negotiated with HELLO.

use bytes::BytesMut;

use crate::util::{d2string, fmt_i64, write_i64, I64_DIGITS};

pub struct Out {
    pub buf: BytesMut,
    /// 2 or 3.
    pub resp: u8,
}

impl Out {
    pub fn new(resp: u8) -> Self {
        Out { buf: BytesMut::with_capacity(1024), resp }
    }

    #[inline]
    fn header(&mut self, kind: u8, n: i64) {
        self.buf.extend_from_slice(&[kind]);
        write_i64(&mut self.buf, n);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    pub fn simple(&mut self, s: &str) {
        self.buf.extend_from_slice(b"+");
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An error reply; `msg` carries its own code (`ERR ...`, `WRONGTYPE ...`).
    /// Newlines would break the protocol, so they become spaces as in Redis.
    pub fn error(&mut self, msg: &str) {
        self.buf.extend_from_slice(b"-");
        for &b in msg.as_bytes() {
            self.buf.extend_from_slice(&[if b == b'\r' || b == b'\n' { b' ' } else { b }]);
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    #[inline]
    pub fn int(&mut self, v: i64) {
        self.header(b':', v);
    }

    #[inline]
    pub fn bulk(&mut self, data: &[u8]) {
        self.header(b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn bulk_i64(&mut self, v: i64) {
        self.bulk(fmt_i64(v, &mut [0u8; I64_DIGITS]));
    }

    /// Null bulk string (RESP2 `$-1`, RESP3 `_`).
    pub fn null(&mut self) {
        if self.resp >= 3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// Null array (RESP2 `*-1`, RESP3 `_`).
    pub fn null_array(&mut self) {
        if self.resp >= 3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    #[inline]
    pub fn array(&mut self, n: usize) {
        self.header(b'*', n as i64);
    }

    /// A map of `n` pairs (RESP2: a flat array of 2n).
    pub fn map(&mut self, n: usize) {
        if self.resp >= 3 {
            self.header(b'%', n as i64);
        } else {
            self.header(b'*', 2 * n as i64);
        }
    }

    pub fn set(&mut self, n: usize) {
        if self.resp >= 3 {
            self.header(b'~', n as i64);
        } else {
            self.header(b'*', n as i64);
        }
    }

    /// An out-of-band push (RESP2: a plain array).
    pub fn push(&mut self, n: usize) {
        if self.resp >= 3 {
            self.header(b'>', n as i64);
        } else {
            self.header(b'*', n as i64);
        }
    }

    pub fn double(&mut self, v: f64) {
        let s = d2string(v);
        if self.resp >= 3 {
            self.buf.extend_from_slice(b",");
            self.buf.extend_from_slice(s.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(s.as_bytes());
        }
    }

    pub fn boolean(&mut self, v: bool) {
        if self.resp >= 3 {
            self.buf.extend_from_slice(if v { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(v as i64);
        }
    }

    /// Verbatim text (RESP3 `=`, RESP2 bulk), e.g. INFO and CLIENT LIST.
    pub fn verbatim(&mut self, text: &[u8]) {
        if self.resp >= 3 {
            self.header(b'=', text.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    pub fn bulks<'a>(&mut self, items: impl ExactSizeIterator<Item = &'a [u8]>) {
        self.array(items.len());
        for it in items {
            self.bulk(it);
        }
    }

    /// Raw, already-encoded bytes.
    pub fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp2_and_resp3() {
        let mut o = Out::new(2);
        o.null();
        o.map(1);
        o.double(1.5);
        o.boolean(true);
        assert_eq!(&o.buf[..], b"$-1\r\n*2\r\n$3\r\n1.5\r\n:1\r\n");
        let mut o = Out::new(3);
        o.null();
        o.map(1);
        o.double(1.5);
        o.boolean(true);
        o.verbatim(b"hi");
        assert_eq!(&o.buf[..], b"_\r\n%1\r\n,1.5\r\n#t\r\n=6\r\ntxt:hi\r\n");
    }

    #[test]
    fn errors_stay_on_one_line() {
        let mut o = Out::new(2);
        o.error("ERR a\r\nb");
        assert_eq!(&o.buf[..], b"-ERR a  b\r\n");
    }
}
