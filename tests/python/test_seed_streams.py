"""The stream examples of the seeds (shared/seeds/004_37e68fa3c67b9ab9.txt)
run with valkey-py over RESP2 and RESP3: the order event log (XADD with a
generated ID, XREAD from the beginning, a consumer group read with `>`)
and the top-100 rank notifications pushed with xadd. Expected values are
what Valkey 9.1 replies to the same calls (this file passes against
valkey-server unchanged). Generated IDs depend on the clock, so they are
checked for their form and order and then used as returned.

The seed's calls do not block; a short BLOCK is checked on top of them
(served at once when there is data, empty after its timeout).
"""

import re
import time

import pytest
import valkey


ID = re.compile(r"^(\d+)-(\d+)$")


def as_dict(reply):
    """XREAD / XREADGROUP replies as {stream: [(id, fields)]} whatever the
    protocol (RESP2: a list of [stream, entries]; RESP3: valkey-py maps each
    stream to a one-element list holding its entries)."""
    if isinstance(reply, dict):
        return {k: [tuple(e) for e in entries[0]] for k, entries in reply.items()}
    return {k: [tuple(e) for e in entries] for k, entries in reply}


def test_order_event_log(v):
    before_ms = int(time.time() * 1000)
    # XADD events:orders * user_id 1000 product_id 123 total 99.99
    first = v.xadd("events:orders", {"user_id": 1000, "product_id": 123, "total": 99.99})
    m = ID.match(first)
    assert m, first
    assert int(m.group(1)) >= before_ms - 1000
    second = v.xadd("events:orders", {"user_id": 1001, "product_id": 7, "total": 5})
    assert tuple(map(int, second.split("-"))) > tuple(map(int, first.split("-")))
    assert v.xlen("events:orders") == 2

    # XREAD STREAMS events:orders 0: everything from the beginning.
    read = as_dict(v.xread({"events:orders": 0}))
    assert read == {
        "events:orders": [
            (first, {"user_id": "1000", "product_id": "123", "total": "99.99"}),
            (second, {"user_id": "1001", "product_id": "7", "total": "5"}),
        ]
    }
    assert as_dict(v.xread({"events:orders": 0}, count=1)) == {
        "events:orders": [(first, {"user_id": "1000", "product_id": "123", "total": "99.99"})]
    }
    # Nothing after the last one.
    assert v.xread({"events:orders": second}) in (None, [], {})

    # XGROUP CREATE events:orders order-processor 0
    assert v.xgroup_create("events:orders", "order-processor", id="0") is True
    with pytest.raises(valkey.ResponseError, match="BUSYGROUP"):
        v.xgroup_create("events:orders", "order-processor", id="0")

    # XREADGROUP GROUP order-processor consumer1 STREAMS events:orders >
    got = as_dict(v.xreadgroup("order-processor", "consumer1", {"events:orders": ">"}))
    assert [e[0] for e in got["events:orders"]] == [first, second]
    # Delivered once: a second consumer gets nothing new.
    assert v.xreadgroup("order-processor", "consumer2", {"events:orders": ">"}) in (None, [], {})
    pending = v.xpending("events:orders", "order-processor")
    assert pending["pending"] == 2
    assert pending["min"] == first and pending["max"] == second
    assert pending["consumers"] == [{"name": "consumer1", "pending": 2}]
    assert v.xack("events:orders", "order-processor", first) == 1
    # The consumer's own history holds what it did not acknowledge.
    history = as_dict(v.xreadgroup("order-processor", "consumer1", {"events:orders": "0"}))
    assert [e[0] for e in history["events:orders"]] == [second]
    # BLOCK: served at once when there is something, empty at the deadline.
    got = as_dict(v.xreadgroup("order-processor", "consumer1", {"events:orders": "0"}, block=50))
    assert [e[0] for e in got["events:orders"]] == [second]
    assert v.xreadgroup("order-processor", "consumer1", {"events:orders": ">"}, block=50) in (None, [], {})
    assert v.xread({"events:orders": "$"}, block=50) in (None, [], {})
    groups = v.xinfo_groups("events:orders")
    assert len(groups) == 1
    g = groups[0]
    assert (g["name"], g["consumers"], g["pending"], g["last-delivered-id"]) == ("order-processor", 2, 1, second)
    assert (g["entries-read"], g["lag"]) == (2, 0)


def test_rank_update_notifications(v):
    """Seed 004's update_score_with_notification: a stream event when a
    player enters the top 100."""

    def update_score_with_notification(player_id, points):
        old_rank = v.zrevrank("leaderboard", f"player:{player_id}")
        v.zadd("leaderboard", {f"player:{player_id}": points})
        new_rank = v.zrevrank("leaderboard", f"player:{player_id}")
        if old_rank is not None and old_rank >= 100 and new_rank < 100:
            v.xadd("rank_updates", {"player_id": player_id, "event": "entered_top_100", "rank": new_rank + 1})

    v.zadd("leaderboard", {f"player:{i}": 1000 + i for i in range(150)})
    update_score_with_notification(3, 10)  # stays out of the top 100
    update_score_with_notification(5, 1120)  # rank 131 -> 30
    update_score_with_notification(7, 5000)  # rank 143 -> 1
    update_score_with_notification(7, 6000)  # already in the top 100
    events = v.xrange("rank_updates")
    assert [fields for _, fields in events] == [
        {"player_id": "5", "event": "entered_top_100", "rank": "30"},
        {"player_id": "7", "event": "entered_top_100", "rank": "1"},
    ]
    assert all(ID.match(i) for i, _ in events)
    assert v.xrevrange("rank_updates", count=1)[0][1]["player_id"] == "7"
    info = v.xinfo_stream("rank_updates")
    assert (info["length"], info["entries-added"], info["groups"]) == (2, 2, 0)
    assert info["first-entry"][1] == {"player_id": "5", "event": "entered_top_100", "rank": "30"}
    assert info["last-entry"][0] == events[1][0]
