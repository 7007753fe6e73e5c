#!/usr/bin/env python3
"""Cache load under maxmemory, oxkey side by side with redis-server (stdlib only).

    benches/eviction.py [--oxkey target/release/oxkey-server] [--redis redis-server]
                        [--policies allkeys-lru,allkeys-lfu] [--maxmemory 100mb]
                        [--keys 1000000] [--requests 3000000] [--value 200]

For each policy and server: a fresh server with `maxmemory` and the policy,
then the same Zipf-distributed (s=0.99, seeded) sequence of cache-aside
requests: GET key, and SET key on a miss. The key space is several times
larger than the cap, so the server must evict. Reported per run: the hit
ratio over the second half of the requests (after warm-up), the peak RSS
sampled during the run (and how far it went above maxmemory), used_memory
and evicted_keys at the end. One table at the end.
"""
import argparse
import bisect
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.pos = 0

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise SystemExit("server closed the connection")
        self.buf = self.buf[self.pos:] + chunk
        self.pos = 0

    def _line(self):
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                line = self.buf[self.pos:end]
                self.pos = end + 2
                return line
            self._fill()

    def reply(self):
        """One reply: bytes for bulk/simple, None for a null, int, or an error string."""
        line = self._line()
        t = line[:1]
        if t == b"$":
            n = int(line[1:])
            if n < 0:
                return None
            while len(self.buf) - self.pos < n + 2:
                self._fill()
            data = self.buf[self.pos:self.pos + n]
            self.pos += n + 2
            return data
        if t == b":":
            return int(line[1:])
        if t == b"-":
            return "ERR:" + line[1:].decode()
        return line[1:]

    def call(self, *args):
        self.sock.sendall(resp(*args))
        return self.reply()


def rss_of(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def info(conn, section):
    text = conn.call("INFO", section).decode()
    return dict(l.split(":", 1) for l in text.splitlines() if ":" in l)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(binary, port, maxmemory, policy, workdir):
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--maxmemory", maxmemory, "--maxmemory-policy", policy, "--dir", workdir]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            c = Conn(port)
            if c.call("PING") == b"PONG":
                return proc, c
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("%s did not start" % binary)


def zipf_sequence(keys, requests, s, seed):
    """Key indices drawn from a Zipf(s) law over `keys` ranks, ranks shuffled."""
    cdf, total = [], 0.0
    for rank in range(1, keys + 1):
        total += 1.0 / rank ** s
        cdf.append(total)
    rng = random.Random(seed)
    perm = list(range(keys))
    rng.shuffle(perm)
    return [perm[min(bisect.bisect_left(cdf, rng.random() * total), keys - 1)] for _ in range(requests)]


def run(binary, policy, args, seq, value):
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        proc, conn = start(binary, port, args.maxmemory, policy, workdir)
        peak_rss = [0]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak_rss[0] = max(peak_rss[0], rss_of(proc.pid))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.time()
        half = len(seq) // 2
        hits = gets = 0
        batch = args.batch
        for start_at in range(0, len(seq), batch):
            chunk = seq[start_at:start_at + batch]
            names = [b"key:%07d" % k for k in chunk]
            conn.sock.sendall(b"".join(resp(b"GET", n) for n in names))
            misses = []
            for i, n in enumerate(names):
                r = conn.reply()
                if start_at + i >= half:
                    gets += 1
                    hits += r is not None
                if r is None:
                    misses.append(n)
            if misses:
                conn.sock.sendall(b"".join(resp(b"SET", n, value) for n in misses))
                for _ in misses:
                    r = conn.reply()
                    if r != b"OK":
                        raise SystemExit("SET failed: %r" % (r,))
        elapsed = time.time() - started
        done.set()
        sampler.join()
        mem, stats = info(conn, "memory"), info(conn, "stats")
        dbsize = conn.call("DBSIZE")
        proc.kill()
        proc.wait()
        return {
            "hit": 100.0 * hits / max(gets, 1),
            "peak_rss": peak_rss[0],
            "used": int(mem["used_memory"]),
            "rss": int(mem["used_memory_rss"]),
            "evicted": int(stats["evicted_keys"]),
            "keys": dbsize,
            "seconds": elapsed,
        }


def parse_memory(text):
    units = {"kb": 1024, "mb": 1024 ** 2, "gb": 1024 ** 3}
    for u, m in units.items():
        if text.lower().endswith(u):
            return int(text[:-2]) * m
    return int(text)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--oxkey", default="target/release/oxkey-server")
    p.add_argument("--redis", default="redis-server")
    p.add_argument("--policies", default="allkeys-lru,allkeys-lfu")
    p.add_argument("--maxmemory", default="100mb")
    p.add_argument("--keys", type=int, default=1_000_000)
    p.add_argument("--requests", type=int, default=3_000_000)
    p.add_argument("--value", type=int, default=200)
    p.add_argument("--zipf", type=float, default=0.99)
    p.add_argument("--batch", type=int, default=200)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    cap = parse_memory(args.maxmemory)
    print("generating %d requests over %d keys (zipf %.2f)..." % (args.requests, args.keys, args.zipf), file=sys.stderr)
    seq = zipf_sequence(args.keys, args.requests, args.zipf, args.seed)
    value = b"v" * args.value
    rows = []
    for policy in args.policies.split(","):
        for name, binary in (("redis", args.redis), ("oxkey", args.oxkey)):
            r = run(binary, policy, args, seq, value)
            print("%s %s: %s" % (policy, name, r), file=sys.stderr)
            rows.append((policy, name, r))
    print("| policy | server | hit ratio (2nd half) | peak RSS | RSS over maxmemory | used_memory | keys | evicted | seconds |")
    print("|---|---|---|---|---|---|---|---|---|")
    for policy, name, r in rows:
        print("| %s | %s | %.2f%% | %.1f MB | %+.1f%% | %.1f MB | %d | %d | %.1f |" % (
            policy, name, r["hit"], r["peak_rss"] / 2 ** 20, 100.0 * (r["peak_rss"] - cap) / cap,
            r["used"] / 2 ** 20, r["keys"], r["evicted"], r["seconds"]))


if __name__ == "__main__":
    main()
