"""The PUBLISH/SUBSCRIBE parts of the seed texts (shared/seeds/002_*: a task
queue announcing new tasks on `task_notification`; 004_*: SUBSCRIBE
news:tech, PUBLISH, PSUBSCRIBE news:*), run with valkey-py and redis-py over
RESP2 and RESP3. Expected values are what Redis replies to the same calls."""

import json
import time

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


def next_message(ps, timeout=2.0):
    """The next message of any kind, waiting up to `timeout` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = ps.get_message(timeout=0.1)
        if m is not None:
            return m
    raise AssertionError("no message")


def test_subscribe_and_publish(v):
    ps = v.pubsub()
    ps.subscribe("news:tech")
    assert next_message(ps) == {"type": "subscribe", "pattern": None, "channel": "news:tech", "data": 1}
    assert v.publish("news:tech", "Redis 7.0 released!") == 1
    assert next_message(ps) == {
        "type": "message",
        "pattern": None,
        "channel": "news:tech",
        "data": "Redis 7.0 released!",
    }
    # Fire-and-forget: nobody listens to this one.
    assert v.publish("news:sports", "lost") == 0
    assert v.pubsub_numsub("news:tech", "news:sports") == [("news:tech", 1), ("news:sports", 0)]
    assert v.pubsub_channels() == ["news:tech"]
    ps.unsubscribe("news:tech")
    assert next_message(ps) == {"type": "unsubscribe", "pattern": None, "channel": "news:tech", "data": 0}
    assert v.pubsub_numsub("news:tech") == [("news:tech", 0)]
    ps.close()


def test_pattern_subscription(v):
    ps = v.pubsub()
    ps.psubscribe("news:*")
    assert next_message(ps) == {"type": "psubscribe", "pattern": None, "channel": "news:*", "data": 1}
    assert v.pubsub_numpat() == 1
    assert v.publish("news:tech", "t") == 1
    assert v.publish("news:sports", "s") == 1
    assert v.publish("weather", "w") == 0
    assert next_message(ps) == {"type": "pmessage", "pattern": "news:*", "channel": "news:tech", "data": "t"}
    assert next_message(ps) == {"type": "pmessage", "pattern": "news:*", "channel": "news:sports", "data": "s"}
    ps.punsubscribe()
    assert next_message(ps) == {"type": "punsubscribe", "pattern": None, "channel": "news:*", "data": 0}
    assert v.pubsub_numpat() == 0
    ps.close()


def test_task_notification(v):
    """Seed 002: enqueue a task in a priority list and announce it."""
    worker = v.pubsub(ignore_subscribe_messages=True)
    worker.subscribe("task_notification")
    assert worker.get_message(timeout=1) is None  # the confirmation, skipped
    queue_key = "queue:high"
    v.lpush(queue_key, json.dumps({"id": 1, "task": "resize"}))
    receivers = v.publish(
        "task_notification",
        json.dumps({"event": "new_task", "priority": "high", "queue_length": v.llen(queue_key)}),
    )
    assert receivers == 1
    m = next_message(worker)
    assert m["type"] == "message" and m["channel"] == "task_notification"
    assert json.loads(m["data"]) == {"event": "new_task", "priority": "high", "queue_length": 1}
    assert json.loads(v.rpop(queue_key)) == {"id": 1, "task": "resize"}
    worker.close()


def test_handler_thread(v):
    """Messages delivered to a callback from pubsub.run_in_thread."""
    got = []
    ps = v.pubsub()
    ps.subscribe(**{"chat:827": lambda m: got.append(m["data"])})
    t = ps.run_in_thread(sleep_time=0.01, daemon=True)
    try:
        deadline = time.time() + 2
        while v.pubsub_numsub("chat:827") != [("chat:827", 1)] and time.time() < deadline:
            time.sleep(0.01)
        for i in range(3):
            assert v.publish("chat:827", f"msg {i}") == 1
        while len(got) < 3 and time.time() < deadline:
            time.sleep(0.01)
        assert got == ["msg 0", "msg 1", "msg 2"]
    finally:
        t.stop()
        t.join(2)
        ps.close()


def test_ping_while_subscribed(v):
    """RESP2 answers PING on a subscribed connection with a [pong, arg]
    message. (In RESP3 it is a plain +PONG, which these clients' pubsub
    readers do not expect: not exercised.)"""
    if v.connection_pool.connection_kwargs.get("protocol") == 3:
        pytest.skip("PING through a RESP3 pubsub object is not supported by the clients")
    ps = v.pubsub()
    ps.subscribe("c")
    next_message(ps)
    ps.ping("hi")
    assert next_message(ps) == {"type": "pong", "pattern": None, "channel": None, "data": "hi"}
    ps.ping()
    assert next_message(ps) == {"type": "pong", "pattern": None, "channel": None, "data": ""}
    ps.close()
