# A throwaway container booted with systemd-nspawn over an overlay of this machine's root
# filesystem, in a cgroup of its own, with a private network. Shared by systemd-test.sh and
# package-test.sh; source it, then:
#   nspawn_prepare NAME   mounts the overlay at $ROOT (writes there land in $BASE/upper) and
#                         sets a trap that tears everything down on exit
#   nspawn_boot           boots systemd in it and waits until the system is up ($INIT: its pid 1)
#   inside CMD…           runs CMD in the container's namespaces
#   postgres_inside DB…   a PostgreSQL unit inside on 127.0.0.1:5433 (trust), with databases DB…
#   psql_inside DB SQL    one statement's unaligned, tuples-only output
# Two containers with different NAMEs can run at the same time.

BASE=""
ROOT=""
CG=""
MACHINE=""
NSPAWN=""
INIT=""

fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
inside() { nsenter -t "$INIT" -a "$@"; }
psql_inside() { inside runuser -u postgres -- psql -X -A -t -h 127.0.0.1 -p 5433 -d "$1" -c "$2"; }

nspawn_teardown() {
    set +e
    if [ -n "$NSPAWN" ]; then
        kill -TERM "$NSPAWN" 2>/dev/null
        for _ in $(seq 300); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$NSPAWN" 2>/dev/null
    fi
    [ -n "$ROOT" ] && mountpoint -q "$ROOT" && umount "$ROOT"
    for h in systemd unified; do
        [ -n "$CG" ] && [ -d /sys/fs/cgroup/$h/$CG ] && find /sys/fs/cgroup/$h/$CG -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    [ -n "$BASE" ] && rm -rf "$BASE"
}

nspawn_prepare() {
    MACHINE=$1
    BASE=$(mktemp -d "/tmp/schemagate-$MACHINE.XXXXXX")
    ROOT=$BASE/root
    CG=schemagate-$MACHINE-$$
    trap nspawn_teardown EXIT
    mkdir -p "$BASE"/{upper,work,root}
    mount -t overlay overlay -o "lowerdir=/,upperdir=$BASE/upper,workdir=$BASE/work" "$ROOT"
    systemd-id128 new >"$ROOT/etc/machine-id"
    # Keep the host's own services (its PostgreSQL cluster, pgbouncer) from starting inside.
    for unit in postgresql.service postgresql@15-main.service pgbouncer.service; do
        ln -sf /dev/null "$ROOT/etc/systemd/system/$unit"
    done
}

nspawn_boot() {
    for h in systemd unified; do mkdir -p /sys/fs/cgroup/$h/$CG; done
    local started
    started=$(date +%s)
    (
        for h in systemd unified; do echo $BASHPID >/sys/fs/cgroup/$h/$CG/cgroup.procs; done
        exec setsid systemd-nspawn -D "$ROOT" --boot --register=no --keep-unit --private-network \
            --console=pipe --tmpfs=/tmp -M "$MACHINE" systemd.firstboot=off </dev/null >"$BASE/nspawn.log" 2>&1
    ) &
    NSPAWN=$!
    for _ in $(seq 100); do INIT=$(pgrep -P "$NSPAWN" -x systemd || true); [ -n "$INIT" ] && break; sleep 0.1; done
    [ -n "$INIT" ] || fail "container did not start: $(cat "$BASE/nspawn.log")"
    for _ in $(seq 100); do inside test -S /run/systemd/private && break; sleep 0.1; done
    local state
    state=$(timeout 120 nsenter -t "$INIT" -a systemctl is-system-running --wait || true)
    ok "container $MACHINE booted ($state) in $(( $(date +%s) - started ))s"
}

postgres_inside() {
    local bindir
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    inside runuser -u postgres -- "$bindir/initdb" -D /var/tmp/pgdata -A trust -U postgres --no-sync >/dev/null
    inside systemd-run --unit=pgtest -p User=postgres -p Type=notify "$bindir/postgres" \
        -D /var/tmp/pgdata -p 5433 -k /var/tmp -c listen_addresses=127.0.0.1 >/dev/null
    for db in "$@"; do inside runuser -u postgres -- createdb -h 127.0.0.1 -p 5433 "$db"; done
    ok "PostgreSQL running inside"
}
