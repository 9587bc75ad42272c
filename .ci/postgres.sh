# Start a throwaway PostgreSQL cluster on 127.0.0.1 (a free port) and export KALKAN_TEST_POSTGRES_URL.
# Used by .ci/run and by `make test-slow`; the tests skip PostgreSQL only when this URL is unset.
start_postgres() {
  local bindir
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  PGTMP=$(mktemp -d /tmp/kalkan-pg.XXXXXX)
  PGPORT_KALKAN=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  chown postgres "$PGTMP" 2>/dev/null || true
  local as=()
  [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
  "${as[@]}" "$bindir/initdb" -D "$PGTMP/data" -U kalkan --auth=trust >/dev/null
  "${as[@]}" "$bindir/pg_ctl" -D "$PGTMP/data" -o "-c listen_addresses=127.0.0.1 -p $PGPORT_KALKAN -k $PGTMP" -l "$PGTMP/log" -w start >/dev/null
  "${as[@]}" "$bindir/createdb" -h 127.0.0.1 -p "$PGPORT_KALKAN" -U kalkan kalkan_test
  export KALKAN_TEST_POSTGRES_URL="postgresql+psycopg://kalkan@127.0.0.1:$PGPORT_KALKAN/kalkan_test"
  export PG_BINDIR="$bindir"
}
stop_postgres() {
  local as=()
  [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
  [ -n "${PGTMP:-}" ] && "${as[@]}" "$PG_BINDIR/pg_ctl" -D "$PGTMP/data" -m fast stop >/dev/null 2>&1 || true
  [ -n "${PGTMP:-}" ] && rm -rf "$PGTMP"
  return 0
}
