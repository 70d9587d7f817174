#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests (Debian's postgresql package: initdb and pg_ctl), in a folder of its own,
# on a free loopback port, run as an ordinary user (as "postgres" when called by root: initdb refuses root).
#   scripts/postgres-throwaway.sh start DIR   starts it; prints its connection string (database "postgres") on stdout
#   scripts/postgres-throwaway.sh restart DIR restarts it (pg_ctl restart -m fast: sessions are ended, same port and
#                                             options; the fault tests' PostgreSQL outage)
#   scripts/postgres-throwaway.sh stop DIR    stops it and deletes DIR
# Durability is off (fsync, synchronous_commit): a crash loses the server, which is thrown away anyway.
set -euo pipefail
command="${1:-}"
dir="${2:-}"
[ -n "$command" ] && [ -n "$dir" ] || { echo "usage: $0 start|restart|stop DIR" >&2; exit 2; }

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
[ -x "$bin/initdb" ] || { echo "postgres-throwaway: PostgreSQL's initdb is missing; run scripts/setup.sh test (apt-get install postgresql)" >&2; exit 1; }

as=()
if [ "$(id -u)" -eq 0 ]; then
  as=(runuser -u postgres --)
fi

case "$command" in
  start)
    mkdir -p "$dir"
    [ ${#as[@]} -eq 0 ] || chown postgres "$dir"
    chmod 700 "$dir"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${as[@]}" "$bin/initdb" -D "$dir/data" -U sdpm --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/data -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=500" \
      start >/dev/null || { cat "$dir/data/server.log" >&2; exit 1; }
    echo "Host=127.0.0.1;Port=$port;Username=sdpm;Database=postgres"
    ;;
  restart)
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -m fast -w -t 60 restart >/dev/null \
      || { tail -20 "$dir/data/server.log" >&2; exit 1; }
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start|restart|stop DIR" >&2
    exit 2
    ;;
esac
