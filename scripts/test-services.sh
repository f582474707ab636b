#!/usr/bin/env bash
# Start (or stop) what the tests need on loopback, without Docker:
#   RabbitMQ's stream plugin on the machine's broker, the machine's Redis,
#   SecantusDB (wire-compatible MongoDB) and moto's S3 server from the project's venv.
# Usage: scripts/test-services.sh start|stop|running    Ports: see scripts/test-env.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/test-env.sh
state=.ci-services
mkdir -p "$state"

wait_port() {  # host port seconds
  local deadline=$((SECONDS + $3))
  until (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; do
    if ((SECONDS > deadline)); then echo "port $1:$2 did not open within $3 s" >&2; return 1; fi
    sleep 0.3
  done
}

start_rabbitmq() {
  if ! rabbitmqctl status >/dev/null 2>&1; then rabbitmq-server -detached; sleep 5; fi
  rabbitmqctl await_startup --timeout 60 >/dev/null
  rabbitmq-plugins enable --quiet rabbitmq_stream rabbitmq_management rabbitmq_prometheus >/dev/null
  wait_port 127.0.0.1 5552 60
}

start_redis() {
  if ! redis-cli -p 6379 ping >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /tmp --logfile "$PWD/$state/redis.log"
  fi
  wait_port 127.0.0.1 6379 20
}

start_background() {  # name port command...
  local name=$1 port=$2; shift 2
  if [ -f "$state/$name.pid" ] && kill -0 "$(cat "$state/$name.pid")" 2>/dev/null; then return 0; fi
  nohup "$@" >"$state/$name.log" 2>&1 &
  echo $! >"$state/$name.pid"
  wait_port 127.0.0.1 "$port" 60 || { cat "$state/$name.log" >&2; return 1; }
}

stop_background() {
  local pidfile="$state/$1.pid"
  if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; fi
}

case "${1:-start}" in
  start)
    start_rabbitmq
    start_redis
    start_background secantusdb "$TEST_MONGO_PORT" .venv/bin/secantusd-py --host 127.0.0.1 \
      --port "$TEST_MONGO_PORT" --storage-path :memory: --log-level WARNING
    start_background moto "$TEST_S3_PORT" .venv/bin/moto_server -H 127.0.0.1 -p "$TEST_S3_PORT"
    echo "test services up: mongo :$TEST_MONGO_PORT, s3 :$TEST_S3_PORT, rabbitmq streams :5552, redis :6379"
    ;;
  running)  # exit 0 when the background test servers are already up
    for name in secantusdb moto; do
      [ -f "$state/$name.pid" ] && kill -0 "$(cat "$state/$name.pid")" 2>/dev/null || exit 1
    done
    ;;
  stop)
    stop_background secantusdb
    stop_background moto
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
