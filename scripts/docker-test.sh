#!/usr/bin/env bash
# The Docker image's tests: builds it with docker/build.sh, then runs it as
# the tutorials run redis and valkey images and checks what their readers
# rely on: health, the seed tutorial tests (tests/python, valkey-py and
# redis-py) against the container, persistence across `docker stop` /
# `docker start` and a new container on the same volume, extra flags in
# every command form, a non-root PID 1 that exits cleanly and quickly on
# SIGTERM, and docker/compose.yaml.
#
# Checks of features oxkey does not have yet (AOF persistence, eviction)
# are reported as PENDING when, and only when, the server refused their
# parameter with its "is not supported yet by oxkey" message; they pass
# once the feature lands. Any other failure fails the script.
#
# Prints "SKIPPED: no docker engine" and succeeds when there is none.
# OXKEY_IMAGE sets the tag to build (default oxkey:test).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
started=$(date +%s)

if ! command -v docker >/dev/null || ! docker info >/dev/null 2>&1; then
    echo "SKIPPED: no docker engine"
    exit 0
fi
if [ ! -x .venv/bin/pytest ] || ! command -v redis-cli >/dev/null; then
    scripts/test-deps.sh || exit 1
fi

IMAGE=${OXKEY_IMAGE:-oxkey:test}
PREFIX=oxkey-test-$$
if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose); else COMPOSE=(docker-compose); fi
COMPOSE+=(-f docker/compose.yaml -p "$PREFIX")
export OXKEY_IMAGE=$IMAGE OXKEY_CONTAINER=$PREFIX-compose

cleanup() {
    "${COMPOSE[@]}" down -v >/dev/null 2>&1
    docker ps -aq --filter "name=$PREFIX" | xargs -r docker rm -f >/dev/null
    docker volume ls -q --filter "name=$PREFIX" | xargs -r docker volume rm >/dev/null
}
trap cleanup EXIT

PASSED=0
FAILED=()
PENDING=()
pass() { echo "PASS: $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL: $1${2:+ ($2)}"; FAILED+=("$1"); }
# check NAME COMMAND...: the command's status decides.
check() {
    local name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name"; return 1; fi
}
# feature_check NAME FEATURE CONTAINER COMMAND...: as check, but a failure
# is PENDING when CONTAINER's log shows oxkey refusing the parameter.
feature_check() {
    local name=$1 feature=$2 container=$3 refusal
    shift 3
    if "$@"; then
        pass "$name"
        return
    elif refusal=$(docker logs "$container" 2>&1 | grep -m1 'is not supported yet by oxkey'); then
        echo "PENDING: $name (needs $feature: $refusal)"
        PENDING+=("$name")
    else
        fail "$name"
    fi
    return 1
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cli() { local port=$1; shift; redis-cli -h 127.0.0.1 -p "$port" "$@"; }

# Waits until CONTAINER is healthy; fails at once if it stops running or
# has restarted (a restart policy hides an exit).
wait_healthy() {
    local container=$1 status
    for _ in $(seq 1 120); do
        status=$(docker inspect -f '{{.State.Status}} {{.RestartCount}} {{.State.Health.Status}}' "$container" 2>/dev/null)
        case $status in
            "running 0 healthy") return 0 ;;
            "running 0 "*) sleep 0.5 ;;
            *)
                echo "$container is not running: $(docker logs --tail 5 "$container" 2>&1)"
                return 1
                ;;
        esac
    done
    echo "$container not healthy after 60 s: $(docker inspect -f '{{json .State.Health}}' "$container")"
    return 1
}

# run NAME PORT CONTAINER_PORT [docker run options] -- [image arguments]:
# starts IMAGE as the tutorials do (`-p 127.0.0.1:PORT:6379 --name ... -d`).
# The seed container keeps the image's health-check schedule; the others
# check every second, to be healthy sooner.
run() {
    local name=$1 port=$2 inner=$3 opts=()
    shift 3
    while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    [ "$name" = seed ] || opts+=(--health-interval 1s)
    docker run -p "127.0.0.1:$port:$inner" --name "$PREFIX-$name" "${opts[@]}" -d "$IMAGE" "$@" >/dev/null
}

# stopped_cleanly CONTAINER: `docker stop` returns in under 5 s (no 10 s
# kill), the exit code is 0 and the log says the server shut down.
stopped_cleanly() {
    local container=$1 t0 ms code
    t0=$(date +%s%N)
    docker stop "$container" >/dev/null
    ms=$((($(date +%s%N) - t0) / 1000000))
    code=$(docker inspect -f '{{.State.ExitCode}}' "$container")
    echo "docker stop $container: ${ms} ms, exit code $code"
    [ "$ms" -lt 5000 ] && [ "$code" = 0 ] && docker logs "$container" 2>&1 | grep -q 'ready to exit, bye bye'
}

# healthy_with_config CONTAINER PORT [PARAM VALUE]...: CONFIG GET shows them.
healthy_with_config() {
    local container=$1 port=$2 got
    shift 2
    wait_healthy "$container" || return
    while [ $# -ge 2 ]; do
        got=$(cli "$port" CONFIG GET "$1" | sed -n 2p)
        [ "$got" = "$2" ] || { echo "CONFIG GET $1: '$got', expected '$2'"; return 1; }
        shift 2
    done
}

write_keys() {  # write_keys PORT: 1000 strings, a hash, a list
    local port=$1
    for i in $(seq 1 1000); do echo "SET key:$i value:$i"; done | cli "$port" >/dev/null &&
        cli "$port" HSET user:1 name Alice role admin >/dev/null &&
        cli "$port" RPUSH queue a b c >/dev/null
}

healthy_with_keys() {  # healthy_with_keys CONTAINER PORT
    local port=$2 n
    wait_healthy "$1" || return
    n=$(cli "$port" DBSIZE)
    if [ "$n" = 1002 ] && [ "$(cli "$port" GET key:777)" = value:777 ] &&
        [ "$(cli "$port" HGET user:1 role)" = admin ] &&
        [ "$(cli "$port" LRANGE queue 0 -1 | tr '\n' ' ')" = "a b c " ]; then
        return 0
    fi
    echo "after restart: DBSIZE $n"
    return 1
}

# ---- Build ---------------------------------------------------------------

t0=$(date +%s)
if docker/build.sh "$IMAGE"; then
    pass "build ($(($(date +%s) - t0)) s)"
else
    fail build
    exit 1
fi
size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
check "image size $((size / 1000)) kB < 30 MB" test "$size" -lt 30000000

# ---- The seed tutorial against the container -------------------------------

port=$(free_port)
run seed "$port" 6379 --
check "seed container healthy" wait_healthy "$PREFIX-seed"
check "seed tutorial tests (tests/python) against the container" \
    env OXKEY_PORT="$port" .venv/bin/pytest -q -p no:cacheprovider tests/python
# The host's view of the container's processes, less a health check
# docker may be running at that moment.
top=$(docker top "$PREFIX-seed" -eo pid,uid,stat,args | tail -n +2 | grep -v -- --healthcheck |
    sed 's/^ *//; s/  */ /g')
echo "processes in the container (pid uid stat args):"
echo "$top"
check "runs as uid 999, not root" test "$(awk '{print $2}' <<<"$top" | sort -u)" = 999
check "no zombie after health checks" test -z "$(awk '$3 ~ /Z/' <<<"$top")"
check "PID 1 is the server, with the container config, alone" \
    test "$top" = "$(docker inspect -f '{{.State.Pid}}' "$PREFIX-seed") 999 $(awk '{print $3}' <<<"$top") oxkey-server /etc/oxkey/oxkey.conf"
check "docker stop: SIGTERM, clean exit 0 within 5 s" stopped_cleanly "$PREFIX-seed"

# ---- Persistence ----------------------------------------------------------

# persistence NAME FEATURE [image arguments]: keys written, then docker stop
# and start, then a new container on the same volume.
persistence() {
    local test=$1 feature=$2 port
    shift 2
    port=$(free_port)
    local c=$PREFIX-$test
    run "$test" "$port" 6379 -v "$c:/data" -- "$@"
    feature_check "$test: started with '$*'" "$feature" "$c" wait_healthy "$c" || return
    write_keys "$port"
    check "$test: stopped cleanly" stopped_cleanly "$c"
    docker start "$c" >/dev/null
    check "$test: keys there after docker start" healthy_with_keys "$c" "$port"
    docker rm -f "$c" >/dev/null
    run "$test-new" "$port" 6379 -v "$c:/data" -- "$@"
    check "$test: keys there in a new container on the volume" healthy_with_keys "$c-new" "$port"
}
# The image's default: RDB save points, the file written at docker stop.
persistence rdb "RDB persistence"
# The seed's `docker run ... redis redis-server --appendonly yes`.
persistence aof "AOF persistence" redis-server --appendonly yes

# ---- Extra flags in every command form --------------------------------------

port=$(free_port)
run flags-redis "$port" 6379 -- redis-server --hz 20 --databases 32
check "redis-server --hz 20 --databases 32: honoured, on the container config" \
    healthy_with_config "$PREFIX-flags-redis" "$port" hz 20 databases 32 dir /data bind "* -::*"
port=$(free_port)
run flags-oxkey "$port" 7000 -- oxkey-server --port 7000
check "oxkey-server --port 7000: honoured, healthy (the health check follows it)" \
    healthy_with_config "$PREFIX-flags-oxkey" "$port" port 7000
port=$(free_port)
run flags-bare "$port" 6379 -- --maxmemory 100mb --maxmemory-policy allkeys-lru
feature_check "--maxmemory 100mb --maxmemory-policy allkeys-lru: honoured" eviction "$PREFIX-flags-bare" \
    healthy_with_config "$PREFIX-flags-bare" "$port" maxmemory 104857600 maxmemory-policy allkeys-lru

# ---- docker/compose.yaml --------------------------------------------------

check "docker/compose.yaml valid (${COMPOSE[0]} config)" "${COMPOSE[@]}" config -q
port=$(free_port)
if OXKEY_PORT=127.0.0.1:$port "${COMPOSE[@]}" up -d --no-build; then
    feature_check "compose up: valkey-dev healthy with appendonly yes" "AOF persistence" "$OXKEY_CONTAINER" \
        healthy_with_config "$OXKEY_CONTAINER" "$port" appendonly yes
else
    fail "compose up"
fi

echo
echo "docker-test: $PASSED passed, ${#FAILED[@]} failed, ${#PENDING[@]} pending, in $(($(date +%s) - started)) s"
[ ${#PENDING[@]} = 0 ] || printf 'pending (a feature oxkey does not have yet): %s\n' "${PENDING[@]}"
if [ ${#FAILED[@]} -gt 0 ]; then
    printf 'FAILED: %s\n' "${FAILED[@]}"
    exit 1
fi
