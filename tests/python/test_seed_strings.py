"""The strings and connection parts of the seed tutorial
(shared/seeds/000_*.txt), run with valkey-py and redis-py over RESP2 and
RESP3. Expected values are what Valkey replies to the same calls."""

import json

import pytest
import redis
import valkey

CLIENTS = [
    pytest.param((valkey.Valkey, 2), id="valkey-resp2"),
    pytest.param((valkey.Valkey, 3), id="valkey-resp3"),
    pytest.param((redis.Redis, 2), id="redis-resp2"),
    pytest.param((redis.Redis, 3), id="redis-resp3"),
]


@pytest.fixture(params=CLIENTS)
def v(request, server):
    cls, proto = request.param
    c = cls(host="127.0.0.1", port=server.port, db=0, decode_responses=True, protocol=proto)
    assert c.ping() is True
    c.flushdb()
    yield c
    c.close()


def test_strings_section(v):
    v.set("greeting", "Hello, Valkey! From Python")
    assert v.get("greeting") == "Hello, Valkey! From Python"

    user_data = {"name": "Alice", "role": "admin", "status": "active"}
    v.set("user:session:123", json.dumps(user_data))
    assert json.loads(v.get("user:session:123")) == user_data

    v.setex("temp_message", 10, "This message will vanish!")
    assert v.get("temp_message") == "This message will vanish!"
    assert 9 <= v.ttl("temp_message") <= 10

    v.set("page_views", 0)
    assert v.incr("page_views") == 1
    assert v.incrby("page_views", 5) == 6
    assert v.get("page_views") == "6"
    assert v.decr("page_views") == 5
    assert v.get("page_views") == "5"


def test_connection_basics(v):
    assert v.echo("hi") == "hi"
    assert v.dbsize() == 0
    v.set("a", "1")
    assert v.exists("a", "b") == 1
    assert v.delete("a", "b") == 1
    assert v.get("a") is None
