"""Function libraries and the script libraries through valkey-py and
redis-py, RESP2 and RESP3: function_load / fcall / fcall_ro /
function_list / function_dump / function_restore, and register_script
scripts using cjson, cmsgpack, bit and struct. Expected values are what
redis-server 7.0 replies."""

import pytest
import redis
import valkey

CLIENTS = [
    pytest.param((valkey.Valkey, 2), id="valkey-resp2"),
    pytest.param((valkey.Valkey, 3), id="valkey-resp3"),
    pytest.param((redis.Redis, 2), id="redis-resp2"),
    pytest.param((redis.Redis, 3), id="redis-resp3"),
]

ERRORS = (valkey.ResponseError, redis.ResponseError)

LIBRARY = """#!lua name=counters
local function incr_by(keys, args)
    return redis.call('INCRBY', keys[1], args[1])
end
local function peek(keys, args)
    return redis.call('GET', keys[1])
end
redis.register_function('incr_by', incr_by)
redis.register_function{function_name='peek', callback=peek, flags={'no-writes'},
                        description='reads a counter'}
"""


@pytest.fixture(params=CLIENTS)
def v(request, server):
    cls, proto = request.param
    c = cls(host="127.0.0.1", port=server.port, db=0, decode_responses=True, protocol=proto)
    c.flushdb()
    c.function_flush()
    yield c
    c.close()


def test_load_and_call(v):
    assert v.function_load(LIBRARY) == "counters"
    assert v.fcall("incr_by", 1, "n", 5) == 5
    assert v.fcall("incr_by", 1, "n", 2) == 7
    assert v.fcall_ro("peek", 1, "n") == "7"
    with pytest.raises(ERRORS) as e:
        v.fcall_ro("incr_by", 1, "n", 1)
    assert "Can not execute a script with write flag using *_ro command." in str(e.value)
    with pytest.raises(ERRORS) as e:
        v.function_load(LIBRARY)
    assert "Library 'counters' already exists" in str(e.value)
    assert v.function_load(LIBRARY, replace=True) == "counters"


def test_list_dump_restore(v):
    v.function_load(LIBRARY)
    libs = v.function_list(withcode=True)
    assert len(libs) == 1
    lib = libs[0]
    if isinstance(lib, list):  # RESP2: a flat list of pairs
        lib = dict(zip(lib[::2], lib[1::2]))
    assert lib["library_name"] == "counters"
    assert lib["engine"] == "LUA"
    assert lib["library_code"] == LIBRARY
    names = []
    for f in lib["functions"]:
        if isinstance(f, list):
            f = dict(zip(f[::2], f[1::2]))
        names.append(f["name"])
        if f["name"] == "peek":
            assert f["description"] == "reads a counter"
            assert list(f["flags"]) == ["no-writes"]
    assert sorted(names) == ["incr_by", "peek"]

    raw = valkey.Valkey(port=v.connection_pool.connection_kwargs["port"]) if isinstance(v, valkey.Valkey) \
        else redis.Redis(port=v.connection_pool.connection_kwargs["port"])
    payload = raw.function_dump()
    raw.function_flush()
    with pytest.raises(ERRORS):
        v.fcall("incr_by", 1, "n", 1)
    assert raw.function_restore(payload) in (True, b"OK", "OK")
    assert v.fcall("incr_by", 1, "n", 1) == 1
    with pytest.raises(ERRORS) as e:
        raw.function_restore(payload)
    assert "Library counters already exists" in str(e.value)
    assert raw.function_restore(payload, "REPLACE") in (True, b"OK", "OK")
    raw.close()


def test_script_libraries(v):
    script = v.register_script("""
        local doc = cjson.decode(ARGV[1])
        local packed = cmsgpack.pack(doc.items)
        local back = cmsgpack.unpack(packed)
        return {cjson.encode(back), bit.tohex(bit.bxor(doc.a, doc.b)),
                struct.unpack('>I2', struct.pack('>I2', doc.a)), #packed}
    """)
    assert script(args=['{"items":[1,"two",3.5],"a":4660,"b":255}']) == ['[1,"two",3.5]', "000012cb", 4660, 11]
    with pytest.raises(ERRORS) as e:
        v.eval("return cjson.decode('{')", 0)
    assert "Expected object key string but found T_END at character 2" in str(e.value)
