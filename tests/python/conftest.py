"""Starts a fresh oxkey-server on a free loopback port for each test module,
or uses the one on 127.0.0.1:$OXKEY_PORT when that is set."""

import os
import socket
import subprocess
import tempfile
import time

import pytest
import valkey

SERVER = os.environ.get("OXKEY_SERVER") or os.path.join(
    os.path.dirname(__file__), "..", "..", "target", "debug", "oxkey-server"
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, *extra):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="oxkey-py-")
        self.proc = subprocess.Popen(
            [SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir, *extra],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("oxkey-server did not start")

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class Running:
    """A server started elsewhere, listening on 127.0.0.1:OXKEY_PORT (the
    Docker image in scripts/docker-test.sh). Every module shares it."""

    def __init__(self, port):
        self.port = int(port)


@pytest.fixture(scope="module")
def server():
    if os.environ.get("OXKEY_PORT"):
        yield Running(os.environ["OXKEY_PORT"])
        return
    s = Server()
    yield s
    s.stop()


@pytest.fixture(params=[pytest.param(2, id="resp2"), pytest.param(3, id="resp3")])
def v(request, server):
    """A valkey-py client on a flushed database, over RESP2 and then RESP3
    (a test module that also runs redis-py defines its own `v`)."""
    c = valkey.Valkey(host="127.0.0.1", port=server.port, db=0, decode_responses=True, protocol=request.param)
    assert c.ping() is True
    c.flushdb()
    yield c
    c.close()
