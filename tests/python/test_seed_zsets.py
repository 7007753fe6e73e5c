"""The sorted-set patterns of the seeds (shared/seeds/*.txt) run with
valkey-py over RESP2 and RESP3: the valkey-py tutorial's leaderboard
(000), the sliding-window rate limiter, time-windowed leaderboards and the
trending/interaction feed (002), and the semaphores and delayed queue of
"Redis in Action" (001). Expected values are what Valkey 9.1 replies to
the same calls (this file passes against valkey-server unchanged).

Pipelines run without MULTI (transaction=False) until transactions land.
"""

import json
import uuid

import pytest


def pairs(reply):
    """(member, score) tuples whatever the protocol (RESP3 nests lists)."""
    return [tuple(p) for p in reply]


def test_tutorial_leaderboard(v):
    leaderboard = "game:high_scores"
    assert v.zadd(leaderboard, mapping={"Alice": 1500, "Bob": 1200, "Charlie": 1800, "David": 1500, "Eve": 1650}) == 5
    assert pairs(v.zrevrange(leaderboard, 0, 2, withscores=True)) == [
        ("Charlie", 1800.0),
        ("Eve", 1650.0),
        ("David", 1500.0),
    ]
    assert v.zscore(leaderboard, "Alice") == 1500.0
    assert v.zincrby(leaderboard, 200, "Bob") == 1400.0
    assert v.zscore(leaderboard, "Bob") == 1400.0
    assert pairs(v.zrangebyscore(leaderboard, 1400, 1600, withscores=True)) == [
        ("Bob", 1400.0),
        ("Alice", 1500.0),
        ("David", 1500.0),
    ]
    assert v.zrank(leaderboard, "Charlie") == 4
    assert v.zrevrank(leaderboard, "Charlie") == 0
    assert v.zrank(leaderboard, "Nobody") is None
    assert v.zscore(leaderboard, "Nobody") is None


def rate_limit(v, user_id, now, limit=100, window=3600):
    """The sliding-window limiter of seed 002, with the clock passed in."""
    key = f"rate_limit:{user_id}"
    v.zremrangebyscore(key, 0, now - window)
    current = v.zcard(key)
    if current < limit:
        v.zadd(key, {str(now): now})
        v.expire(key, window)
        return True, current + 1
    return False, current


def test_rate_limiter_sliding_window(v):
    start = 1_700_000_000.25
    for i in range(100):
        assert rate_limit(v, "user123", start + i) == (True, i + 1)
    assert rate_limit(v, "user123", start + 100) == (False, 100)
    assert v.zcard("rate_limit:user123") == 100
    assert 3590 <= v.ttl("rate_limit:user123") <= 3600
    # An hour later the first ten requests have left the window.
    later = start + 3609.5
    assert rate_limit(v, "user123", later) == (True, 91)
    assert v.zcount("rate_limit:user123", "-inf", "+inf") == 91
    oldest = pairs(v.zrange("rate_limit:user123", 0, 0, withscores=True))
    assert oldest == [(str(start + 10), start + 10)]


def test_time_windowed_leaderboards(v):
    def update_score(user_id, score, now, mode="default"):
        for key in (f"leaderboard:global:{mode}", f"leaderboard:daily:2024-01-01:{mode}"):
            v.zadd(key, {user_id: score})
        history = f"scores:{user_id}:{mode}"
        v.zadd(history, {now: score})
        total = v.zcard(history)
        if total > 100:
            v.zremrangebyrank(history, 0, total - 101)

    for i, (user, score) in enumerate([("ann", 300), ("bob", 500), ("cid", 100), ("dan", 400), ("eve", 200)]):
        update_score(user, score, 1000 + i)
    key = "leaderboard:global:default"
    top = [
        {"rank": r, "user_id": u, "score": int(s)}
        for r, (u, s) in enumerate(pairs(v.zrevrange(key, 0, 2, withscores=True)), 1)
    ]
    assert top == [
        {"rank": 1, "user_id": "bob", "score": 500},
        {"rank": 2, "user_id": "dan", "score": 400},
        {"rank": 3, "user_id": "ann", "score": 300},
    ]
    rank = v.zrevrank(key, "ann") + 1
    assert (rank, v.zscore(key, "ann"), v.zcard(key)) == (3, 300.0, 5)
    start = max(0, rank - 3)
    nearby = pairs(v.zrevrange(key, start, rank + 2, withscores=True))
    assert [u for u, _ in nearby] == ["bob", "dan", "ann", "eve", "cid"]
    assert v.zrevrank(key, "zed") is None

    # The score history keeps the last 100 entries.
    for t in range(150):
        update_score("ann", t, 2000 + t)
    history = "scores:ann:default"
    assert v.zcard(history) == 100
    # The trim goes by rank: the oldest-but-best 300 stays, 0..50 went.
    assert pairs(v.zrange(history, 0, 0, withscores=True)) == [("2051", 51.0)]
    assert pairs(v.zrevrange(history, 0, 1, withscores=True)) == [("1000", 300.0), ("2149", 149.0)]


def test_trending_content_and_interaction_feed(v):
    weights = {"view": 1, "like": 5, "share": 10, "comment": 15}

    def add_interaction(content_id, kind, user_id, now, decay=0.5):
        score = weights.get(kind, 1) * decay
        v.zincrby("trending:content", score, content_id)
        data = {"type": kind, "user_id": user_id, "timestamp": now, "score": score}
        key = f"interactions:{content_id}"
        v.zadd(key, {json.dumps(data): now})
        v.zremrangebyscore(key, 0, now - 24 * 3600)

    now = 1_700_000_000
    add_interaction("post:1", "view", "u1", now)
    add_interaction("post:1", "like", "u2", now + 1)
    add_interaction("post:2", "share", "u1", now + 2)
    add_interaction("post:3", "comment", "u3", now + 3, decay=0.1)
    add_interaction("post:1", "view", "u4", now + 90_000)
    trending = [
        {"content_id": c, "trending_score": round(s, 2), "interaction_count": v.zcard(f"interactions:{c}")}
        for c, s in pairs(v.zrevrange("trending:content", 0, 19, withscores=True))
    ]
    assert trending == [
        {"content_id": "post:2", "trending_score": 5.0, "interaction_count": 1},
        {"content_id": "post:1", "trending_score": 3.5, "interaction_count": 1},
        {"content_id": "post:3", "trending_score": 1.5, "interaction_count": 1},
    ]
    # The feed of post:1 kept only the last day.
    feed = [json.loads(m) for m in v.zrange("interactions:post:1", 0, -1)]
    assert [(f["type"], f["user_id"]) for f in feed] == [("view", "u4")]
    assert v.zscore("trending:content", "post:3") == pytest.approx(1.5)

    # Periodic decay: scores shrink, the faint ones go.
    for _ in range(25):
        for content_id, score in pairs(v.zrange("trending:content", 0, -1, withscores=True)):
            new = score * 0.9
            if new < 0.1:
                v.zrem("trending:content", content_id)
            else:
                v.zadd("trending:content", {content_id: new})
    left = pairs(v.zrange("trending:content", 0, -1, withscores=True))
    assert [c for c, _ in left] == ["post:3", "post:1", "post:2"]
    assert left[2][1] == pytest.approx(5.0 * 0.9**25)
    for _ in range(40):
        for content_id, score in pairs(v.zrange("trending:content", 0, -1, withscores=True)):
            if score * 0.9 < 0.1:
                v.zrem("trending:content", content_id)
            else:
                v.zadd("trending:content", {content_id: score * 0.9})
    assert v.exists("trending:content") == 0


def acquire_semaphore(v, name, limit, now, timeout=10):
    identifier = str(uuid.uuid4())
    p = v.pipeline(transaction=False)
    p.zremrangebyscore(name, "-inf", now - timeout)
    p.zadd(name, {identifier: now})
    p.zrank(name, identifier)
    if p.execute()[-1] < limit:
        return identifier
    v.zrem(name, identifier)
    return None


def acquire_fair_semaphore(v, name, limit, now, timeout=10):
    identifier = str(uuid.uuid4())
    czset = name + ":owner"
    ctr = name + ":counter"
    p = v.pipeline(transaction=False)
    p.zremrangebyscore(name, "-inf", now - timeout)
    p.zinterstore(czset, {czset: 1, name: 0})
    p.incr(ctr)
    counter = p.execute()[-1]
    p.zadd(name, {identifier: now})
    p.zadd(czset, {identifier: counter})
    p.zrank(czset, identifier)
    if p.execute()[-1] < limit:
        return identifier
    p.zrem(name, identifier)
    p.zrem(czset, identifier)
    p.execute()
    return None


def test_counting_semaphores(v):
    now = 1_000_000.0
    held = [acquire_semaphore(v, "sem", 3, now + i) for i in range(5)]
    assert [h is not None for h in held] == [True, True, True, False, False]
    assert v.zcard("sem") == 3
    assert v.zrem("sem", held[0]) == 1
    assert acquire_semaphore(v, "sem", 3, now + 6) is not None
    # Holders time out after 10 seconds.
    assert acquire_semaphore(v, "sem", 3, now + 100) is not None
    assert v.zcard("sem") == 1

    fair = [acquire_fair_semaphore(v, "fsem", 2, now + i) for i in range(4)]
    assert [h is not None for h in fair] == [True, True, False, False]
    assert v.zcard("fsem") == 2
    assert v.zcard("fsem:owner") == 2
    assert pairs(v.zrange("fsem:owner", 0, -1, withscores=True)) == [(fair[0], 1.0), (fair[1], 2.0)]
    # Once the holders time out, the owner set follows (ZINTERSTORE with
    # weight 0 keeps the counters).
    late = acquire_fair_semaphore(v, "fsem", 2, now + 60)
    assert late is not None
    assert pairs(v.zrange("fsem:owner", 0, -1, withscores=True)) == [(late, 5.0)]


def test_delayed_queue(v):
    now = 5_000.0
    items = []
    for i, delay in enumerate([30, 10, 20]):
        item = json.dumps([f"id{i}", "email", "send", [i]])
        items.append(item)
        v.zadd("delayed:", {item: now + delay})
    first = v.zrange("delayed:", 0, 0, withscores=True)
    assert pairs(first) == [(items[1], now + 10)]
    due = [m for m in v.zrangebyscore("delayed:", "-inf", now + 25)]
    assert due == [items[1], items[2]]
    for item in due:
        if v.zrem("delayed:", item):
            v.rpush("queue:email", item)
    assert v.lrange("queue:email", 0, -1) == [items[1], items[2]]
    assert v.zrem("delayed:", items[1]) == 0
    assert pairs(v.zpopmin("delayed:", 1)) == [(items[0], now + 30)]
    assert v.exists("delayed:") == 0
