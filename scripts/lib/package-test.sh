#!/usr/bin/env bash
# The .deb under a real systemd: boots a container with systemd-nspawn over an overlay of this
# machine's root filesystem (see nspawn.sh), installs the package with `apt install ./….deb` as
# the quick start says (apt resolves libpq5 and libsystemd0; dpkg -i would not), configures /etc/schemagate/demo.env, starts schemagate@demo with an example application
# bound to it, reads the journal with its catalog text, then removes the package with dpkg -r and
# checks that nothing it installed is left but the operator's files (with a warning for the one
# holding a password), which dpkg --purge then deletes. Prints "ok: …" per check; exits non-zero with
# "FAIL: …" at the first failed one. Always tears the container down.
# Usage: package-test.sh DEB REPOSITORY_DIR
set -euo pipefail
DEB=$(realpath "$1")
REPO=$2
source "$(dirname "$0")/nspawn.sh"

nspawn_prepare sgpkg
# The container starts as a copy of this machine: make sure no schemagate is there before the install.
rm -f "$ROOT/usr/bin/schemagate" "$ROOT/lib/systemd/system/schemagate@.service" \
    "$ROOT/etc/systemd/system/schemagate@.service" "$ROOT/usr/lib/systemd/catalog/schemagate.catalog"
# This machine is a container image whose policy-rc.d forbids maintainer scripts to start or stop
# services; a real host has none, and the prerm's stop is part of what is tested.
rm -f "$ROOT/usr/sbin/policy-rc.d"
cp "$DEB" "$ROOT/var/tmp/schemagate.deb"
mkdir -p "$ROOT/srv/demo"
cp -r "$REPO/migrations" "$ROOT/srv/demo/migrations"
# A slow migration so that the application's start can be seen to wait for READY=1.
printf 'SELECT pg_sleep(2);\nCREATE TABLE audit_slow (id int);\n' >"$ROOT/srv/demo/migrations/0005_slow_step.up.sql"
nspawn_boot
postgres_inside demo
if inside dpkg-query -W -f='${Status}' schemagate 2>/dev/null | grep -q installed; then
    inside dpkg --purge schemagate >/dev/null
fi
inside test ! -e /usr/bin/schemagate || fail "a schemagate binary is in the container before the install"

# --- apt install ./schemagate_*.deb ------------------------------------------------------------------
# Offline: the dependencies are on this machine already, so apt resolves them without downloading.
inside env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /var/tmp/schemagate.deb \
    >"$BASE/install.log" 2>&1 || fail "apt install ./schemagate.deb failed: $(cat "$BASE/install.log")"
[ "$(inside dpkg-query -W -f='${Status}' schemagate)" = "install ok installed" ] || fail "not installed"
packaged=$(dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./usr/bin/schemagate | sha256sum | cut -d' ' -f1)
[ "$(inside sha256sum /usr/bin/schemagate | cut -d' ' -f1)" = "$packaged" ] || fail "/usr/bin/schemagate is not the packaged binary"
[ "$(inside dpkg -S /usr/bin/schemagate)" = "schemagate: /usr/bin/schemagate" ] || fail "dpkg -S does not name schemagate"
missing=$(inside ldd /usr/bin/schemagate | grep 'not found' || true)
[ -z "$missing" ] || fail "libraries missing: $missing"
inside getent passwd schemagate >/dev/null || fail "postinst did not create the schemagate user"
inside getent group schemagate >/dev/null || fail "postinst did not create the schemagate group"
inside journalctl --list-catalog 5408586fb23049588bb2d27a922d4b39 2>/dev/null | grep -q "applied a migration" || fail "the catalog was not updated"
inside systemctl cat schemagate@demo.service >/dev/null 2>&1 || fail "systemd does not know schemagate@.service"
for file in /usr/share/man/man1/schemagate.1.gz /usr/share/bash-completion/completions/schemagate \
    /usr/share/zsh/vendor-completions/_schemagate /usr/share/fish/vendor_completions.d/schemagate.fish; do
    inside test -s "$file" || fail "$file missing"
done
zcat "$ROOT/usr/share/man/man1/schemagate.1.gz" | grep -q '^\.Sh EXIT STATUS\|^\.Sh DESCRIPTION\|^\.Sh SYNOPSIS' || fail "the man page has no sections"
ok "apt install: the packaged binary at /usr/bin/schemagate (its libraries all found), user and group, catalog, unit, man page, completions"

# --- configure and start, as the README's quick start says ---------------------------------------------
printf 'SCHEMAGATE_MIGRATIONS=/srv/demo/migrations\nSCHEMAGATE_LOCK_WAIT=60s\n' >"$ROOT/etc/schemagate/demo.env"
printf 'postgresql://postgres@127.0.0.1:5433/demo\n' >"$ROOT/etc/schemagate/demo.database-url"
chmod 0600 "$ROOT/etc/schemagate/demo.database-url"
sed 's/schemagate@app\.service/schemagate@demo.service/g' "$ROOT/usr/share/doc/schemagate/examples/example-app.service" \
    >"$ROOT/etc/systemd/system/example-demo.service"
inside systemctl daemon-reload
inside systemctl start schemagate@demo.service example-demo.service \
    || fail "start failed: $(inside systemctl status schemagate@demo --no-pager 2>&1 | tail -20)"
ready_at=$(inside systemctl show -P ActiveEnterTimestampMonotonic schemagate@demo.service)
app_at=$(inside systemctl show -P ExecMainStartTimestampMonotonic example-demo.service)
[ "$app_at" -gt "$ready_at" ] || fail "example-demo started ($app_at) before schemagate@demo was ready ($ready_at)"
[ "$(psql_inside demo "SELECT value->>'version' FROM schemagate_settings WHERE key = 'schema_version'")" = 5 ] || fail "schema not at 5"
status=$(inside systemctl show -P StatusText schemagate@demo.service)
[ "$status" = "ready: schema at 5" ] || fail "StatusText is '$status'"
ok "systemctl start schemagate@demo: '$status'; the example application started after READY=1"
inside schemagate status --socket /run/schemagate/demo/schemagate.sock >"$BASE/status" 2>&1 \
    || fail "schemagate status (the quick start's last step) did not say ready: $(cat "$BASE/status")"
ok "schemagate status: ready"
inside journalctl -x -u schemagate@demo.service --no-pager >"$BASE/journal" 2>&1
grep -q "schemagate applied a migration" "$BASE/journal" || fail "journalctl -x shows no catalog text: $(tail -20 "$BASE/journal")"
ok "journalctl -x -u schemagate@demo shows the catalog text"
doc=$(inside systemctl show -P Documentation schemagate@demo.service)
[ "$doc" = '"man:schemagate(1)"' ] || fail "the unit names as documentation: $doc"
verify=$(inside env SYSTEMD_LOG_LEVEL=notice systemd-analyze verify /lib/systemd/system/schemagate@demo.service /etc/systemd/system/example-demo.service 2>&1)
[ -z "$verify" ] || fail "systemd-analyze verify of the installed units: $verify"
ok "systemd-analyze verify of the installed units (man page included) prints nothing"

# --- dpkg -r ---------------------------------------------------------------------------------------------
inside dpkg -L schemagate >"$BASE/files"
inside cat /var/lib/dpkg/info/schemagate.conffiles >"$BASE/conffiles" 2>/dev/null || true
inside dpkg -r schemagate >"$BASE/remove.log" 2>&1 || fail "dpkg -r failed: $(cat "$BASE/remove.log")"
left=()
while read -r path <&3; do
    [ "$path" = /. ] && continue
    grep -qxF "$path" "$BASE/conffiles" && continue
    # A directory may stay when something else still lives in it (/usr/bin, /etc/schemagate with demo.env).
    if inside test -d "$path" && [ -n "$(inside find -H "$path" -mindepth 1 -maxdepth 1 -print -quit)" ]; then continue; fi
    inside test -e "$path" -o -L "$path" && left+=("$path")
done 3<"$BASE/files"
((${#left[@]} == 0)) || fail "dpkg -r left behind: ${left[*]}"
inside test -e /etc/schemagate/demo.env || fail "dpkg -r removed the operator's /etc/schemagate/demo.env"
inside test -e /etc/schemagate/demo.database-url || fail "dpkg -r removed the operator's /etc/schemagate/demo.database-url"
grep -q "/etc/schemagate/demo.database-url still holds a database password" "$BASE/remove.log" \
    || fail "dpkg -r did not warn that demo.database-url stays: $(cat "$BASE/remove.log")"
[ "$(inside systemctl is-active schemagate@demo.service)" != active ] || fail "schemagate@demo still runs after dpkg -r"
[ "$(inside systemctl is-active example-demo.service)" != active ] || fail "example-demo still runs without its sidecar"
if inside systemctl cat schemagate@demo.service >/dev/null 2>&1; then fail "systemd still knows schemagate@.service"; fi
if inside journalctl --list-catalog 5408586fb23049588bb2d27a922d4b39 2>/dev/null | grep -q "applied a migration"; then
    fail "the catalog still has schemagate's entries"
fi
ok "dpkg -r: the sidecar and its application stopped, $(wc -l <"$BASE/files") paths checked, none left behind but shared or non-empty directories"
inside dpkg --purge schemagate >/dev/null 2>&1 || fail "dpkg --purge failed"
[ -z "$(inside dpkg-query -W -f='${Status}' schemagate 2>/dev/null | grep installed || true)" ] || fail "still installed after purge"
inside test ! -e /etc/schemagate/demo.database-url || fail "dpkg --purge left /etc/schemagate/demo.database-url (a password) behind"
inside test ! -e /etc/schemagate || fail "dpkg --purge left /etc/schemagate: $(inside ls -A /etc/schemagate)"
ok "dpkg -r warned that demo.database-url stays; dpkg --purge deleted it and /etc/schemagate"
echo "all package checks passed"
