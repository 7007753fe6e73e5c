"""The bitmap and HyperLogLog examples of the seeds run with valkey-py over
RESP2 and RESP3: the daily-active-user bitmap of
shared/seeds/004_37e68fa3c67b9ab9.txt (SETBIT, GETBIT, BITCOUNT), the
daily/weekly active users of shared/seeds/002_6f2ff9c35a1e4e45.txt (BITOP OR
of seven daily bitmaps, then EXPIRE), and the unique-visitor HyperLogLogs of
both (PFADD, PFCOUNT, PFMERGE of weekly counters into a monthly one).
Expected values are what Valkey 9.1 replies to the same calls (this file
passes against valkey-server unchanged).
"""


def test_active_user_bitmap(v):
    # SETBIT active:2024-01-15 1000 1 replies with the bit's old value.
    assert v.setbit("active:2024-01-15", 1000, 1) == 0
    assert v.setbit("active:2024-01-15", 1000, 1) == 1
    assert v.getbit("active:2024-01-15", 1000) == 1
    assert v.getbit("active:2024-01-15", 999) == 0
    assert v.getbit("active:2024-01-15", 10**6) == 0
    assert v.bitcount("active:2024-01-15") == 1
    # The bitmap is a string of 1000 // 8 + 1 bytes.
    assert v.strlen("active:2024-01-15") == 126
    assert v.type("active:2024-01-15") == "string"


def test_daily_and_weekly_active_users(v):
    days = [f"dau:2024-01-{d:02d}" for d in range(15, 22)]
    # User 12345 every day, user 7 on two days, user 900000 on one.
    for day in days:
        assert v.setbit(day, 12345, 1) == 0
    v.setbit(days[0], 7, 1)
    v.setbit(days[3], 7, 1)
    v.setbit(days[6], 900000, 1)
    assert [v.bitcount(d) for d in days] == [2, 1, 1, 2, 1, 1, 2]
    # BITOP OR wau:2024-W03 dau:... replies with the longest input's length.
    assert v.bitop("OR", "wau:2024-W03", *days) == 900000 // 8 + 1
    assert v.bitcount("wau:2024-W03") == 3
    assert v.expire("wau:2024-W03", 7 * 24 * 3600) is True
    assert 7 * 24 * 3600 - 5 <= v.ttl("wau:2024-W03") <= 7 * 24 * 3600
    # Users active on every day of the week: only 12345.
    assert v.bitop("AND", "every-day", *days) == 900000 // 8 + 1
    assert v.bitcount("every-day") == 1
    assert v.getbit("every-day", 12345) == 1
    # A day nobody was active on counts as an empty bitmap.
    assert v.bitop("OR", "with-empty", days[1], "dau:2024-01-01") == 12345 // 8 + 1
    assert v.bitcount("with-empty") == 1


def test_unique_visitors(v):
    # PFADD visitors:2024-01-15 "user1" "user2" "user3", then a duplicate.
    assert v.pfadd("visitors:2024-01-15", "user1", "user2", "user3") == 1
    assert v.pfadd("visitors:2024-01-15", "user1") == 0
    assert v.pfcount("visitors:2024-01-15") == 3
    assert v.type("visitors:2024-01-15") == "string"
    # The seed's per-IP loop.
    for ip in ["192.168.1.1", "10.0.0.1", "172.16.0.1"]:
        assert v.pfadd("unique_visitors:2024-01-15", ip) == 1
    assert v.pfcount("unique_visitors:2024-01-15") == 3
    # One PFCOUNT over several keys counts their union.
    assert v.pfcount("visitors:2024-01-15", "unique_visitors:2024-01-15") == 6


def test_weekly_counters_merge_into_a_month(v):
    weekly = [f"unique_visitors:2024-W{i}" for i in range(1, 5)]
    # Week i sees visitors 100*i .. 100*i+149: neighbouring weeks overlap.
    for i, key in enumerate(weekly, start=1):
        assert v.pfadd(key, *(f"visitor{n}" for n in range(100 * i, 100 * i + 150))) == 1
    # Estimates (150 each, 450 in all, exactly): Valkey's, as the same
    # registers and estimator give them.
    assert [v.pfcount(k) for k in weekly] == [151, 150, 151, 151]
    assert v.pfmerge("unique_visitors:2024-01", *weekly) is True
    assert v.pfcount("unique_visitors:2024-01") == 452
    # Merging again changes nothing; a missing source is an empty one.
    assert v.pfmerge("unique_visitors:2024-01", *weekly, "unique_visitors:2024-W9") is True
    assert v.pfcount("unique_visitors:2024-01") == 452
    # The merged counter is a HyperLogLog string like the others.
    assert v.getrange("unique_visitors:2024-01", 0, 3) == "HYLL"
