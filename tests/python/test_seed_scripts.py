"""The Lua scripts of the seed tutorial (shared/seeds/002_*.txt:
`increment_with_max` and the sliding-window `rate_limit`), registered with
valkey-py's register_script (EVALSHA, falling back to EVAL on NOSCRIPT)
over RESP2 and RESP3. Expected values are what Valkey replies."""

import pytest
import redis
import valkey

CLIENTS = [
    pytest.param((valkey.Valkey, 2), id="valkey-resp2"),
    pytest.param((valkey.Valkey, 3), id="valkey-resp3"),
    pytest.param((redis.Redis, 2), id="redis-resp2"),
    pytest.param((redis.Redis, 3), id="redis-resp3"),
]

INCREMENT_WITH_MAX = """
            local key = KEYS[1]
            local increment = tonumber(ARGV[1])
            local max_value = tonumber(ARGV[2])

            local current = redis.call('GET', key)
            if current == false then
                current = 0
            else
                current = tonumber(current)
            end

            local new_value = current + increment
            if new_value <= max_value then
                redis.call('SET', key, new_value)
                return new_value
            else
                return current
            end
        """

RATE_LIMIT = """
            local key = KEYS[1]
            local window = tonumber(ARGV[1])
            local limit = tonumber(ARGV[2])
            local current_time = tonumber(ARGV[3])

            -- Remove old entries
            redis.call('ZREMRANGEBYSCORE', key, 0, current_time - window)

            -- Count current requests
            local current_requests = redis.call('ZCARD', key)

            if current_requests < limit then
                -- Add current request
                redis.call('ZADD', key, current_time, current_time)
                redis.call('EXPIRE', key, window)
                return {1, current_requests + 1}
            else
                return {0, current_requests}
            end
        """


@pytest.fixture(params=CLIENTS)
def v(request, server):
    cls, proto = request.param
    c = cls(host="127.0.0.1", port=server.port, db=0, decode_responses=True, protocol=proto)
    assert c.ping() is True
    c.flushdb()
    c.script_flush()
    yield c
    c.close()


def test_increment_with_max(v):
    inc = v.register_script(INCREMENT_WITH_MAX)
    assert inc(keys=["counter"], args=[5, 12]) == 5
    assert v.get("counter") == "5"
    assert inc(keys=["counter"], args=[5, 12]) == 10
    # Over the maximum: unchanged, the current value returned.
    assert inc(keys=["counter"], args=[5, 12]) == 10
    assert v.get("counter") == "10"
    assert inc(keys=["counter"], args=[2, 12]) == 12
    # Cached by now: EVALSHA finds it.
    assert v.script_exists(inc.sha) == [True]


def test_rate_limit(v):
    rl = v.register_script(RATE_LIMIT)
    now = 1_700_000_000
    assert rl(keys=["rate_limit:user123"], args=[3600, 2, now]) == [1, 1]
    assert rl(keys=["rate_limit:user123"], args=[3600, 2, now + 1]) == [1, 2]
    assert rl(keys=["rate_limit:user123"], args=[3600, 2, now + 2]) == [0, 2]
    assert v.zcard("rate_limit:user123") == 2
    assert 3590 <= v.ttl("rate_limit:user123") <= 3600
    # Past the window the old entries are trimmed away.
    assert rl(keys=["rate_limit:user123"], args=[3600, 2, now + 3602]) == [1, 1]
    assert v.zrange("rate_limit:user123", 0, -1) == [str(now + 3602)]


def test_errors_reach_the_client(v):
    v.set("s", "abc")
    with pytest.raises((valkey.ResponseError, redis.ResponseError)) as e:
        v.eval("return redis.call('INCR', KEYS[1])", 1, "s")
    assert str(e.value).startswith("value is not an integer or out of range script: ")
    with pytest.raises((valkey.ResponseError, redis.ResponseError)) as e:
        v.evalsha("ffffffffffffffffffffffffffffffffffffffff", 0)
    assert "No matching script" in str(e.value)


def test_lock(v):
    # The client's Lock acquires with SET NX PX and releases, extends and
    # reacquires with Lua scripts that check the token.
    lock = v.lock("resource", timeout=10)
    assert lock.acquire(blocking=False) is True
    assert lock.locked() is True and lock.owned() is True
    other = v.lock("resource", timeout=10)
    assert other.acquire(blocking=False) is False
    assert other.owned() is False
    assert lock.extend(5) is True
    assert 10_000 < v.pttl("resource") <= 15_000
    assert lock.reacquire() is True
    assert 9_000 < v.pttl("resource") <= 10_000
    lock.release()
    assert v.exists("resource") == 0
    assert other.acquire(blocking=True, blocking_timeout=1) is True
    with pytest.raises(Exception) as e:
        lock.release()
    assert "unlocked lock" in str(e.value) or "no longer owned" in str(e.value)
    other.release()
