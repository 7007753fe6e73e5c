"""Transactions, WATCH locks and blocking queues as the seeds use them
(shared/seeds/001_*.txt: pipeline(True), the WATCH-based lock release,
semaphores, BLPOP workers; 002_*.txt: the BRPOPLPUSH priority task queue),
with valkey-py over RESP2 and RESP3. Expected values are what Valkey 9.1
returns for the same calls."""

import json
import threading
import time
import uuid

import pytest
import valkey


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def conn(request, server):
    c = valkey.Valkey(host="127.0.0.1", port=server.port, decode_responses=True, protocol=request.param)
    c.flushall()
    yield c
    c.close()


def other(server):
    return valkey.Valkey(host="127.0.0.1", port=server.port, decode_responses=True)


def test_pipeline_true_wraps_multi_exec(conn):
    pipe = conn.pipeline(True)
    pipe.set("a", 1)
    pipe.incr("a")
    pipe.lpush("l", "x", "y")
    pipe.lrange("l", 0, -1)
    assert pipe.execute() == [True, 2, 2, ["y", "x"]]
    # A failing command inside the transaction does not stop the others.
    pipe = conn.pipeline(True)
    pipe.set("s", "str")
    pipe.lpush("s", "x")
    pipe.get("s")
    with pytest.raises(valkey.ResponseError):
        pipe.execute()
    assert conn.get("s") == "str"


def release_lock(conn, lockname, identifier):
    """The seed's WATCH/MULTI/EXEC lock release."""
    pipe = conn.pipeline(True)
    lockname = "lock:" + lockname
    while True:
        try:
            pipe.watch(lockname)
            if pipe.get(lockname) == identifier:
                pipe.multi()
                pipe.delete(lockname)
                pipe.execute()
                return True
            pipe.unwatch()
            break
        except valkey.exceptions.WatchError:
            pass
    return False


def test_watch_lock_release_and_conflict(conn, server):
    ident = str(uuid.uuid4())
    assert conn.set("lock:market", ident, nx=True) is True
    assert release_lock(conn, "market", "someone-else") is False
    assert release_lock(conn, "market", ident) is True
    assert conn.exists("lock:market") == 0

    # A write from another client between WATCH and EXEC aborts it.
    conn.set("balance", 10)
    pipe = conn.pipeline(True)
    pipe.watch("balance")
    other(server).incrby("balance", 5)
    pipe.multi()
    pipe.decrby("balance", 3)
    with pytest.raises(valkey.exceptions.WatchError):
        pipe.execute()
    assert conn.get("balance") == "15"


def acquire_semaphore(conn, semname, limit, timeout=10):
    identifier = str(uuid.uuid4())
    now = time.time()
    pipeline = conn.pipeline(True)
    pipeline.zremrangebyscore(semname, "-inf", now - timeout)
    pipeline.zadd(semname, {identifier: now})
    pipeline.zrank(semname, identifier)
    if pipeline.execute()[-1] < limit:
        return identifier
    conn.zrem(semname, identifier)
    return None


def test_semaphore(conn):
    got = [acquire_semaphore(conn, "sem:remote", 2) for _ in range(3)]
    assert got[0] and got[1] and got[2] is None
    assert conn.zcard("sem:remote") == 2
    assert conn.zrem("sem:remote", got[0]) == 1


def test_blpop_worker_gets_items_pushed_later(conn, server):
    received = []

    def worker():
        c = other(server)
        while len(received) < 3:
            packed = c.blpop(["queue:email"], 5)
            if packed:
                received.append(json.loads(packed[1]))

    t = threading.Thread(target=worker)
    t.start()
    time.sleep(0.2)
    for i in range(3):
        conn.rpush("queue:email", json.dumps({"seller": "s", "item": i}))
    t.join(10)
    assert [r["item"] for r in received] == [0, 1, 2]
    assert conn.blpop(["queue:email"], 0.1) is None


def test_brpoplpush_priority_queue(conn, server):
    high, medium, processing = "tasks:high", "tasks:medium", "tasks:processing"
    conn.lpush(medium, json.dumps({"id": "m1"}))
    # Nothing in the high queue: the short wait times out, the medium task is taken.
    assert conn.brpoplpush(high, processing, timeout=1) is None
    got = conn.brpoplpush(medium, processing, timeout=1)
    assert json.loads(got) == {"id": "m1"}

    result = []
    t = threading.Thread(target=lambda: result.append(other(server).brpoplpush(high, processing, timeout=5)))
    t.start()
    time.sleep(0.2)
    conn.lpush(high, json.dumps({"id": "h1"}))
    t.join(10)
    assert json.loads(result[0]) == {"id": "h1"}
    assert [json.loads(x)["id"] for x in conn.lrange(processing, 0, -1)] == ["h1", "m1"]
    assert conn.lrem(processing, 1, got) == 1
