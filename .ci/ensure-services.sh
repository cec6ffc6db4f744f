#!/usr/bin/env bash
# Makes sure the local services fogline's tests use for real are up: PostgreSQL (127.0.0.1:5432, with a
# `test` database), Redis (127.0.0.1:6379) and Mosquitto (127.0.0.1:1883). A service that is down is
# started and waited for (up to WAIT_SECONDS each); one that is up is left alone, so running this when
# everything is up changes nothing. Exits non-zero, naming the service, if one cannot be brought up.
set -euo pipefail

WAIT_SECONDS="${WAIT_SECONDS:-30}"

log() { printf 'ensure-services: %s\n' "$*" >&2; }

postgres_up() { pg_isready -q -h 127.0.0.1 -p 5432 >/dev/null 2>&1; }
redis_up() { [ "$(timeout 2 redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }
mosquitto_up() { timeout 2 bash -c '</dev/tcp/127.0.0.1/1883' >/dev/null 2>&1; }

start_postgres() {
  # The socket directory lives on /run, which a container restart empties.
  if [ ! -d /var/run/postgresql ]; then install -d -o postgres -g postgres -m 2775 /var/run/postgresql; fi
  # shellcheck disable=SC2046 # one cluster version directory, e.g. 15
  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
}

start_redis() {
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
}

start_mosquitto() {
  # mosquitto drops to its own user and writes its pid file under /run/mosquitto.
  if [ ! -d /run/mosquitto ]; then
    install -d -m 0755 /run/mosquitto
    if id mosquitto >/dev/null 2>&1; then chown mosquitto /run/mosquitto; fi
  fi
  mosquitto -d -c /etc/mosquitto/mosquitto.conf
}

# ensure <name> <check-fn> <start-fn>
ensure() {
  local name="$1" check="$2" start="$3"
  if "$check"; then
    log "$name is up"
    return 0
  fi
  log "$name is down; starting it"
  "$start" || log "$name: start command failed (waiting anyway, another starter may be racing us)"
  local deadline=$((SECONDS + WAIT_SECONDS))
  until "$check"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "$name did not come up within ${WAIT_SECONDS}s"
      return 1
    fi
    sleep 0.5
  done
  log "$name started"
}

test_database_exists() {
  [ "$(psql -h 127.0.0.1 -U postgres -d postgres -Atc "select 1 from pg_database where datname = 'test'")" = "1" ]
}

ensure_test_database() {
  if test_database_exists; then return 0; fi
  log "creating database test"
  # A concurrent run may create it first; that is success too.
  psql -h 127.0.0.1 -U postgres -c 'create database test' >/dev/null || test_database_exists
}

failed=0
ensure PostgreSQL postgres_up start_postgres || failed=1
ensure Redis redis_up start_redis || failed=1
ensure Mosquitto mosquitto_up start_mosquitto || failed=1
if postgres_up; then ensure_test_database || failed=1; fi

if [ "$failed" -ne 0 ]; then
  log "some services are not available; see the messages above"
  exit 1
fi
