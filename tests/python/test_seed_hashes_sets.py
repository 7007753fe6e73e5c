"""The hash and set patterns of the seeds (shared/seeds/*.txt) run with
valkey-py over RESP2 and RESP3: the valkey-py tutorial's hash and set
sections (000), session storage, the shopping cart, tag-based filtering and
the social graph (002), and the job search and user records of "Redis in
Action" (001). Expected values are what Valkey 9.1 replies to the same
calls (this file passes against valkey-server unchanged). valkey-py 6
returns set replies as lists, hence the set() around them.

Pipelines run without MULTI (transaction=False) until transactions land.
"""

import json
import uuid



# ---- 000: the valkey-py tutorial ----


def test_tutorial_hashes(v):
    user_id = "user:profile:100"
    assert (
        v.hset(
            user_id,
            mapping={
                "username": "bob_the_builder",
                "email": "bob@example.com",
                "posts_count": 0,
                "last_login": "2024-07-26T10:30:00Z",
            },
        )
        == 4
    )
    assert v.hget(user_id, "username") == "bob_the_builder"
    assert v.hget(user_id, "email") == "bob@example.com"
    assert v.hincrby(user_id, "posts_count", 1) == 1
    assert v.hincrby(user_id, "posts_count", 3) == 4
    assert v.hget(user_id, "posts_count") == "4"
    assert v.hgetall(user_id) == {
        "username": "bob_the_builder",
        "email": "bob@example.com",
        "posts_count": "4",
        "last_login": "2024-07-26T10:30:00Z",
    }
    assert v.hexists(user_id, "phone") is False
    assert v.hexists(user_id, "email") is True
    assert v.object("encoding", user_id) == "listpack"


def test_tutorial_sets(v):
    unique_visitors = "website:unique_visitors:2024-07-26"
    assert v.sadd(unique_visitors, "user_a", "user_b", "user_a", "user_c", "user_d") == 4
    assert set(v.smembers(unique_visitors)) == {"user_a", "user_b", "user_c", "user_d"}
    assert v.sismember(unique_visitors, "user_b") == 1
    assert v.sismember(unique_visitors, "user_e") == 0
    assert v.srem(unique_visitors, "user_c") == 1
    assert set(v.smembers(unique_visitors)) == {"user_a", "user_b", "user_d"}
    assert v.scard(unique_visitors) == 3
    assert v.sadd("sport_fans", "alice", "bob", "charlie") == 3
    assert v.sadd("music_fans", "bob", "david", "alice") == 3
    assert set(v.sinter("sport_fans", "music_fans")) == {"alice", "bob"}
    assert set(v.sunion("sport_fans", "music_fans")) == {"alice", "bob", "charlie", "david"}
    # Redis 7.2 keeps small sets of strings in a listpack.
    assert v.object("encoding", "sport_fans") == "listpack"


# ---- 002: advanced patterns ----


def test_session_storage(v):
    session_key = "session:abc123"
    session_data = {
        "user_id": "12345",
        "email": "user@example.com",
        "login_time": "2024-07-26T10:30:00",
        "ip_address": "192.168.1.100",
        "user_agent": "Mozilla/5.0...",
        "permissions": json.dumps(["read", "write", "admin"]),
        "preferences": json.dumps({"theme": "dark", "language": "en", "notifications": True}),
    }
    assert v.hset(session_key, mapping=session_data) == 7
    assert v.expire(session_key, 24 * 3600) is True
    assert v.hset(session_key, "last_activity", "2024-07-26T10:31:00") == 1
    assert v.hincrby(session_key, "page_views", 1) == 1
    session = v.hgetall(session_key)
    assert json.loads(session["permissions"]) == ["read", "write", "admin"]
    assert json.loads(session["preferences"]) == {"theme": "dark", "language": "en", "notifications": True}
    assert session["page_views"] == "1"
    assert len(session) == 9
    assert 24 * 3600 - 5 <= v.ttl(session_key) <= 24 * 3600


def test_shopping_cart(v):
    cart_key = "cart:42"

    def add_item(product_id, quantity, price):
        item = {"quantity": quantity, "price": float(price), "product_id": product_id}
        v.hset(cart_key, product_id, json.dumps(item))
        v.expire(cart_key, 30 * 24 * 3600)
        return summary()

    def update_quantity(product_id, new_quantity):
        item_json = v.hget(cart_key, product_id)
        if item_json:
            item = json.loads(item_json)
            item["quantity"] = new_quantity
            if new_quantity <= 0:
                v.hdel(cart_key, product_id)
            else:
                v.hset(cart_key, product_id, json.dumps(item))
        return summary()

    def summary():
        items = {pid: json.loads(raw) for pid, raw in v.hgetall(cart_key).items()}
        total = sum(i["quantity"] * i["price"] for i in items.values())
        return sorted(items), sum(i["quantity"] for i in items.values()), round(total, 2)

    assert add_item("p1", 2, "9.99") == (["p1"], 2, 19.98)
    assert add_item("p2", 1, "100") == (["p1", "p2"], 3, 119.98)
    assert update_quantity("p1", 5) == (["p1", "p2"], 6, 149.95)
    assert update_quantity("p2", 0) == (["p1"], 5, 49.95)
    assert update_quantity("nope", 3) == (["p1"], 5, 49.95)
    assert update_quantity("p1", 0) == ([], 0, 0)
    # The emptied cart is gone, expiry and all.
    assert v.exists(cart_key) == 0


def tag_system(v):
    def tag_content(content_id, tags):
        for tag in tags:
            tag_key = f"tag:{tag}"
            v.sadd(tag_key, content_id)
            v.expire(tag_key, 7 * 24 * 3600)

    def find_content(required_tags=None, any_tags=None, excluded_tags=None):
        temp_key = f"temp:search:{uuid.uuid4()}"
        try:
            if required_tags:
                tag_keys = [f"tag:{t}" for t in required_tags]
                if len(tag_keys) == 1:
                    v.sunionstore(temp_key, tag_keys[0])
                else:
                    v.sinterstore(temp_key, *tag_keys)
            if any_tags:
                any_keys = [f"tag:{t}" for t in any_tags]
                if v.exists(temp_key):
                    union_temp = f"temp:union:{uuid.uuid4()}"
                    v.sunionstore(union_temp, *any_keys)
                    v.sinterstore(temp_key, temp_key, union_temp)
                    v.delete(union_temp)
                else:
                    v.sunionstore(temp_key, *any_keys)
            if excluded_tags:
                for tag in excluded_tags:
                    excluded_key = f"tag:{tag}"
                    if v.exists(excluded_key):
                        v.sdiffstore(temp_key, temp_key, excluded_key)
            return sorted(v.smembers(temp_key))
        finally:
            v.delete(temp_key)

    def tag_stats():
        stats = {key.replace("tag:", ""): v.scard(key) for key in v.keys("tag:*")}
        return dict(sorted(stats.items(), key=lambda x: (-x[1], x[0])))

    return tag_content, find_content, tag_stats


def test_tag_filtering(v):
    tag_content, find_content, tag_stats = tag_system(v)
    tag_content("post1", ["python", "redis", "tutorial"])
    tag_content("post2", ["python", "django"])
    tag_content("post3", ["redis", "database", "tutorial"])
    tag_content("post4", ["python", "redis", "advanced"])
    assert find_content(required_tags=["python"]) == ["post1", "post2", "post4"]
    assert find_content(required_tags=["python", "redis"]) == ["post1", "post4"]
    assert find_content(any_tags=["django", "database"]) == ["post2", "post3"]
    assert find_content(required_tags=["redis"], any_tags=["tutorial", "advanced"]) == ["post1", "post3", "post4"]
    assert find_content(required_tags=["python"], excluded_tags=["tutorial"]) == ["post2", "post4"]
    assert find_content(required_tags=["python"], excluded_tags=["python"]) == []
    assert find_content(required_tags=["python", "nosuchtag"]) == []
    assert find_content(required_tags=["redis"], excluded_tags=["nosuchtag"]) == ["post1", "post3", "post4"]
    assert tag_stats() == {"python": 3, "redis": 3, "tutorial": 2, "advanced": 1, "database": 1, "django": 1}
    # No temporary key is left behind.
    assert v.keys("temp:*") == []
    assert 7 * 24 * 3600 - 5 <= v.ttl("tag:python") <= 7 * 24 * 3600


def test_social_graph(v):
    def follow(follower_id, following_id):
        pipe = v.pipeline(transaction=False)
        pipe.sadd(f"followers:{following_id}", follower_id)
        pipe.sadd(f"following:{follower_id}", following_id)
        return pipe.execute()

    def unfollow(follower_id, following_id):
        pipe = v.pipeline(transaction=False)
        pipe.srem(f"followers:{following_id}", follower_id)
        pipe.srem(f"following:{follower_id}", following_id)
        return pipe.execute()

    def mutual_followers(user1_id, user2_id):
        return sorted(v.sinter(f"followers:{user1_id}", f"followers:{user2_id}"))

    def suggested_follows(user_id, limit=10):
        following_key = f"following:{user_id}"
        suggestions = {}
        for followed in v.smembers(following_key):
            for suggestion in v.smembers(f"following:{followed}"):
                if suggestion != user_id and not v.sismember(following_key, suggestion):
                    suggestions[suggestion] = suggestions.get(suggestion, 0) + 1
        ranked = sorted(suggestions.items(), key=lambda x: (-x[1], x[0]))
        return [user for user, _ in ranked[:limit]]

    def user_stats(user_id):
        return {
            "followers_count": v.scard(f"followers:{user_id}"),
            "following_count": v.scard(f"following:{user_id}"),
            "followers": sorted(v.smembers(f"followers:{user_id}")),
            "following": sorted(v.smembers(f"following:{user_id}")),
        }

    for a, b in [("alice", "bob"), ("alice", "carol"), ("bob", "carol"), ("bob", "dave"), ("carol", "dave"), ("carol", "erin"), ("dave", "alice")]:
        assert follow(a, b) == [1, 1]
    assert follow("alice", "bob") == [0, 0]
    assert mutual_followers("carol", "dave") == ["bob"]
    assert mutual_followers("bob", "erin") == []
    assert suggested_follows("alice") == ["dave", "erin"]
    assert user_stats("carol") == {
        "followers_count": 2,
        "following_count": 2,
        "followers": ["alice", "bob"],
        "following": ["dave", "erin"],
    }
    assert unfollow("carol", "erin") == [1, 1]
    # The last follower gone, the set is gone.
    assert v.exists("followers:erin") == 0
    assert unfollow("carol", "erin") == [0, 0]
    assert user_stats("erin") == {"followers_count": 0, "following_count": 0, "followers": [], "following": []}


# ---- 001: Redis in Action ----


def test_job_search(v):
    def add_job(job_id, required_skills):
        return v.sadd("job:" + job_id, *required_skills)

    def is_qualified(job_id, candidate_skills):
        temp = str(uuid.uuid4())
        pipeline = v.pipeline(transaction=False)
        pipeline.sadd(temp, *candidate_skills)
        pipeline.expire(temp, 5)
        pipeline.sdiff("job:" + job_id, temp)
        return not pipeline.execute()[-1]

    assert add_job("1", ["python", "redis", "sql"]) == 3
    assert add_job("2", ["java"]) == 1
    assert is_qualified("1", ["python", "redis", "sql", "go"]) is True
    assert is_qualified("1", ["python", "redis"]) is False
    assert is_qualified("2", ["python"]) is False
    assert is_qualified("nojob", ["python"]) is True

    def index_job(job_id, skills):
        pipeline = v.pipeline(transaction=False)
        for skill in skills:
            pipeline.sadd("idx:skill:" + skill, job_id)
        pipeline.execute()

    index_job("1", ["python", "redis", "sql"])
    index_job("2", ["java", "sql"])
    assert set(v.smembers("idx:skill:sql")) == {"1", "2"}
    # Job ids are integers: an intset.
    assert v.object("encoding", "idx:skill:sql") == "intset"
    assert set(v.sunion("idx:skill:python", "idx:skill:java")) == {"1", "2"}


def test_user_records(v):
    def create_user(login, name, uid):
        llogin = login.lower()
        if v.hget("users:", llogin):
            return None
        pipeline = v.pipeline(transaction=False)
        pipeline.hset("users:", llogin, uid)
        pipeline.hset(
            "user:%s" % uid,
            mapping={"login": login, "id": uid, "name": name, "followers": 0, "following": 0, "posts": 0, "signup": 1700000000},
        )
        pipeline.execute()
        return uid

    assert create_user("Alice", "Alice A.", 1) == 1
    assert create_user("alice", "Other", 2) is None
    assert create_user("Bob", "Bob B.", 2) == 2
    assert v.hgetall("users:") == {"alice": "1", "bob": "2"}
    pipeline = v.pipeline(transaction=False)
    pipeline.hget("user:1", "login")
    pipeline.hincrby("user:1", "posts")
    pipeline.hincrby("user:1", "following", 1)
    pipeline.hincrby("user:2", "followers", 1)
    assert pipeline.execute() == ["Alice", 1, 1, 1]
    assert v.hincrby("user:1", "following", -1) == 0
    assert v.hmget("user:1", ["login", "posts", "nofield"]) == ["Alice", "1", None]
    assert v.hlen("user:1") == 7
    assert sorted(v.hkeys("user:2")) == ["followers", "following", "id", "login", "name", "posts", "signup"]
    assert v.hincrbyfloat("user:2", "score", "10.5") == 10.5
    assert v.hincrbyfloat("user:2", "score", "0.1") == 10.6
    assert v.hget("user:2", "score") == "10.6"
    assert v.hstrlen("user:2", "name") == 6
    assert v.hsetnx("user:2", "name", "X") == 0
    assert v.hdel("user:2", "score", "nofield") == 1


def test_scans_and_random_members(v):
    v.sadd("s", *[f"m{i}" for i in range(300)])
    v.hset("h", mapping={f"f{i}": i for i in range(600)})
    assert set(v.sscan_iter("s", count=20)) == {f"m{i}" for i in range(300)}
    assert sorted(v.sscan_iter("s", match="m1?")) == [f"m1{i}" for i in range(10)]
    assert dict(v.hscan_iter("h", count=50)) == {f"f{i}": str(i) for i in range(600)}
    fields = v.hrandfield("h", 5)
    assert len(fields) == 5 and len(set(fields)) == 5
    assert len(v.srandmember("s", -400)) == 400
    popped = v.spop("s", 10)
    assert len(popped) == 10 and v.scard("s") == 290
    assert v.smismember("s", [popped[0], "m_not"]) == [0, 0]
    assert v.sintercard(2, ["s", "s"], limit=7) == 7
