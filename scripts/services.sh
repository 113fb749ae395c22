#!/usr/bin/env bash
# Start the local PostgreSQL and Redis the tests talk to, if they are not running.
# Points elsewhere with TEST_DATABASE_URL / TEST_REDIS_URL and this does nothing.
set -euo pipefail

if [[ -z "${TEST_DATABASE_URL:-}" ]]; then
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    echo "starting PostgreSQL"
    if command -v pg_ctlcluster >/dev/null; then
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
    else
      echo "PostgreSQL is not running and pg_ctlcluster is not here: start it, or set TEST_DATABASE_URL" >&2
      exit 1
    fi
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
fi

if [[ -z "${TEST_REDIS_URL:-}" ]]; then
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "starting Redis"
    if command -v redis-server >/dev/null; then
      mkdir -p /var/lib/redis /var/log/redis
      redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log
    else
      echo "Redis is not running and redis-server is not here: start it, or set TEST_REDIS_URL" >&2
      exit 1
    fi
    for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
  fi
fi
