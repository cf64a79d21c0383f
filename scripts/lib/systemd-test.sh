#!/usr/bin/env bash
# The sidecar under a real systemd: boots a container with systemd-nspawn over an overlay of this
# machine's root filesystem, installs the built schemagate with the units from systemd/, and
# checks its sd_notify messages and journal entries there (docs/reference.md, "systemd
# notifications" and "Logs") with systemctl and journalctl. Prints "ok: …" per check; exits
# non-zero with "FAIL: …" at the first failed one. Always tears the container down.
# Usage: systemd-test.sh SCHEMAGATE_BINARY REPOSITORY_DIR
set -euo pipefail
BIN=$1
REPO=$2
source "$(dirname "$0")/nspawn.sh"

# --- boot ---------------------------------------------------------------------------------------
nspawn_prepare sgtest
# Install before boot: the binary, the units, the static user, configuration and migrations.
install -m 0755 "$BIN" "$ROOT/usr/bin/schemagate"
install -m 0644 "$REPO"/systemd/schemagate@.service "$REPO"/systemd/example-app.service "$ROOT/etc/systemd/system/"
install -D -m 0644 "$REPO/systemd/schemagate.sysusers" "$ROOT/etc/sysusers.d/schemagate.conf"
mkdir -p "$ROOT/usr/lib/systemd/catalog" && install -m 0644 "$REPO/systemd/schemagate.catalog" "$ROOT/usr/lib/systemd/catalog/"
mkdir -p "$ROOT/etc/schemagate" "$ROOT/srv/app" "$ROOT/srv/bad" "$ROOT/srv/slow"
cp -r "$REPO/migrations" "$ROOT/srv/app/migrations"
# A slow migration so that the app's start can be seen to wait for READY=1.
printf 'SELECT pg_sleep(2);\nCREATE TABLE audit_slow (id int);\n' >"$ROOT/srv/app/migrations/0005_slow_step.up.sql"
mkdir -p "$ROOT/srv/bad/migrations" "$ROOT/srv/slow/migrations"
printf 'CREATE TABLE ok_table (id int);\n' >"$ROOT/srv/bad/migrations/0001_ok.up.sql"
# Fails with an error message of two lines: it must stay one journal entry.
printf "DO \$\$ BEGIN RAISE EXCEPTION E'broken on purpose\\\\nsecond line of the error'; END \$\$;\n" >"$ROOT/srv/bad/migrations/0002_broken.up.sql"
printf 'CREATE TABLE slow_table (id int);\nSELECT pg_sleep(60);\n' >"$ROOT/srv/slow/migrations/0001_very_slow.up.sql"
for app in app app2 bad slow; do
    folder=$app; [ "$app" = app2 ] && folder=app
    db=app; [ "$app" = bad ] && db=bad; [ "$app" = slow ] && db=slow
    printf 'SCHEMAGATE_MIGRATIONS=/srv/%s/migrations\nSCHEMAGATE_LOCK_WAIT=60s\n' "$folder" >"$ROOT/etc/schemagate/$app.env"
    # The example application's sidecar leaves on a regression, so that BindsTo= can be seen to act.
    [ "$app" = app ] && printf 'SCHEMAGATE_ON_REGRESSION=exit\n' >>"$ROOT/etc/schemagate/$app.env"
    printf 'host=127.0.0.1 port=5433 dbname=%s user=postgres\n' "$db" >"$ROOT/etc/schemagate/$app.database-url"
    chmod 0600 "$ROOT/etc/schemagate/$app.database-url"
done
# The example app for the failing instance.
sed 's/schemagate@app.service/schemagate@bad.service/g' "$REPO/systemd/example-app.service" >"$ROOT/etc/systemd/system/example-bad.service"
# An old release (expand-contract's 0001 only) whose app is bound to its sidecar with BindsTo=,
# and the new release's folder that drops what the old one reads.
mkdir -p "$ROOT/srv/old/migrations" "$ROOT/srv/new/migrations"
cp "$REPO"/migrations/expand-contract/0001_* "$ROOT/srv/old/migrations/"
cp "$REPO"/migrations/expand-contract/*.sql "$ROOT/srv/new/migrations/"
printf 'SCHEMAGATE_MIGRATIONS=/srv/old/migrations\nSCHEMAGATE_RELEASE=1\nSCHEMAGATE_LEASE=2s\nSCHEMAGATE_WATCH_INTERVAL=300ms\n' >"$ROOT/etc/schemagate/old.env"
printf 'host=127.0.0.1 port=5433 dbname=old user=postgres\n' >"$ROOT/etc/schemagate/old.database-url"
chmod 0600 "$ROOT/etc/schemagate/old.database-url"
sed 's/schemagate@app.service/schemagate@old.service/g' \
    "$REPO/systemd/example-app.service" >"$ROOT/etc/systemd/system/example-old.service"
nspawn_boot
inside journalctl --update-catalog

# --- a PostgreSQL inside, as a unit --------------------------------------------------------------
postgres_inside app bad slow old

# --- the app starts only after READY=1 -------------------------------------------------------------
inside systemctl start schemagate@app2.service --no-block
inside systemctl start example-app.service || fail "example-app did not start: $(inside systemctl status schemagate@app --no-pager 2>&1 | tail -20)"
ready_at=$(inside systemctl show -P ActiveEnterTimestampMonotonic schemagate@app.service)
app_at=$(inside systemctl show -P ExecMainStartTimestampMonotonic example-app.service)
[ "$app_at" -gt "$ready_at" ] || fail "example-app started ($app_at) before schemagate@app was ready ($ready_at)"
[ "$(psql_inside app "SELECT value->>'version' FROM schemagate_settings WHERE key = 'schema_version'")" = 5 ] || fail "schema not at 5 when the app started"
ok "example-app started after READY=1 (schema at 5)"
for _ in $(seq 100); do [ "$(inside systemctl is-active schemagate@app2.service)" = active ] && break; sleep 0.1; done
[ "$(inside systemctl is-active schemagate@app2.service)" = active ] || fail "schemagate@app2 not active"
[ "$(psql_inside app "SELECT count(*) FROM schemagate_history WHERE success")" = 5 ] || fail "migrations applied more than once: $(psql_inside app 'SELECT version, instance FROM schemagate_history')"
ok "two instances, each migration applied once"
status=$(inside systemctl show -P StatusText schemagate@app.service)
[ "$status" = "ready: schema at 5" ] || fail "StatusText is '$status'"
ok "systemctl status shows '$status'"

# --- the status socket, as an application unit reaches it ------------------------------------------
sock=/run/schemagate/app/schemagate.sock
[ "$(inside stat -c '%a %G' "$sock")" = "660 schemagate" ] || fail "socket mode/group: $(inside stat -c '%a %U:%G' "$sock")"
health=$(inside systemd-run --quiet --wait --pipe -p DynamicUser=yes -p SupplementaryGroups=schemagate \
    curl -sS --unix-socket "$sock" http://localhost/healthz) || fail "an app in the schemagate group cannot reach the socket"
[ "$health" = "ready: schema at 5" ] || fail "/healthz answered '$health'"
if inside systemd-run --quiet --wait --pipe -p DynamicUser=yes curl -sS --unix-socket "$sock" http://localhost/healthz >/dev/null 2>&1; then
    fail "a process outside the schemagate group reached the socket"
fi
inside schemagate status --socket "$sock" | grep -q "5 (at target)" || fail "schemagate status: $(inside schemagate status --socket "$sock")"
ok "status socket: 0660 schemagate; an app in the group gets /healthz 200, others are refused"

# --- journal entries with their fields -----------------------------------------------------------
entries=$(inside journalctl SCHEMAGATE_EVENT=migration_applied -o json --no-pager)
count=$(printf '%s\n' "$entries" | grep -c '"SCHEMAGATE_EVENT":"migration_applied"' || true)
[ "$count" -ge 1 ] || fail "no migration_applied entries: $(inside journalctl -u schemagate@app.service -o json --no-pager | tail -3)"
for field in MESSAGE_ID SCHEMAGATE_VERSION SCHEMAGATE_MIGRATION SCHEMAGATE_DURATION_MS SCHEMAGATE_INSTANCE; do
    printf '%s\n' "$entries" | head -1 | grep -q "\"$field\"" || fail "entry lacks $field: $(printf '%s\n' "$entries" | head -1)"
done
printf '%s\n' "$entries" | head -1 | grep -q '"MESSAGE_ID":"5408586fb23049588bb2d27a922d4b39"' || fail "wrong MESSAGE_ID"
inside journalctl -x SCHEMAGATE_EVENT=migration_applied --no-pager | grep -q "applied a migration" || fail "journalctl -x does not show the catalog text"
ok "journalctl SCHEMAGATE_EVENT=migration_applied: $count entries with their fields and catalog text"

# --- systemctl reload migrates to a new target ----------------------------------------------------
printf 'CREATE TABLE reloaded (id int);\n' >"$ROOT/srv/app/migrations/0006_reloaded.up.sql"
printf 'DROP TABLE reloaded;\n' >"$ROOT/srv/app/migrations/0006_reloaded.down.sql"
inside systemctl reload schemagate@app.service || fail "reload failed: $(inside systemctl status schemagate@app --no-pager | tail -5)"
[ "$(psql_inside app "SELECT value->>'version' FROM schemagate_settings WHERE key = 'schema_version'")" = 6 ] || fail "reload returned before the schema reached 6"
ok "systemctl reload returned with the schema at 6"

# --- a failing migration keeps the app stopped -----------------------------------------------------
if inside systemctl start example-bad.service 2>/dev/null; then fail "example-bad started although its migration fails"; fi
[ "$(inside systemctl is-active example-bad.service)" != active ] || fail "example-bad is active"
inside systemctl status schemagate@bad.service --no-pager >"$BASE/bad-status" 2>&1 || true
grep -q "0002_broken.up.sql" "$BASE/bad-status" || fail "systemctl status does not name the failing file: $(cat "$BASE/bad-status")"
[ "$(inside systemctl show -P ExecMainStatus schemagate@bad.service)" = 70 ] || fail "exit status is not 70"
[ "$(inside systemctl show -P NRestarts schemagate@bad.service)" = 0 ] || fail "restarted despite RestartPreventExitStatus"
ok "failing migration: app kept stopped, status names 0002_broken.up.sql, exit 70, not restarted"
failed=$(inside journalctl -u schemagate@bad.service SCHEMAGATE_EVENT=migration_failed -o json --no-pager)
[ "$(printf '%s\n' "$failed" | grep -c .)" = 1 ] || fail "expected one migration_failed entry: $failed"
printf '%s\n' "$failed" | grep -q 'broken on purpose\\nsecond line of the error' || fail "the two-line error is not in one entry: $failed"
if inside journalctl -u schemagate@bad.service -o json --no-pager | grep -q '"MESSAGE":"second line'; then
    fail "the error's second line became an entry of its own"
fi
ok "a two-line SQL error is one journal entry"

# --- systemctl stop mid-migration leaves no lock ----------------------------------------------------
inside systemctl start schemagate@slow.service --no-block
for _ in $(seq 100); do
    inside systemctl show -P StatusText schemagate@slow.service | grep -q "applying 0001_very_slow" && break; sleep 0.1
done
inside systemctl show -P StatusText schemagate@slow.service | grep -q "applying 0001_very_slow" || fail "slow migration did not start"
out=$(inside schemagate status --socket /run/schemagate/slow/schemagate.sock) && fail "status said ready mid-migration"
printf '%s\n' "$out" | grep -q "migrating" || fail "status while activating: $out"
ok "the socket answers while the unit is still activating (migrating)"
inside systemctl stop schemagate@slow.service
locks=$(psql_inside slow "SELECT count(*) FROM schemagate_settings WHERE key = 'migration_lock'")
[ "$locks" = 0 ] || fail "a lock was left behind: $locks"
[ "$(psql_inside slow "SELECT to_regclass('slow_table') IS NULL")" = t ] || fail "the stopped migration was not rolled back"
ok "systemctl stop mid-migration: rolled back, no lock left"
# --- a regression stops the application bound with BindsTo= -------------------------------------
[ "$(inside systemctl is-active example-app.service)" = active ] || fail "example-app is not running before the regression"
inside schemagate rollback --to 5 --force --database-url 'host=127.0.0.1 port=5433 dbname=app user=postgres' \
    --migrations /srv/app/migrations >"$BASE/rollback.log" 2>&1 || fail "rollback --to 5 failed: $(cat "$BASE/rollback.log")"
for _ in $(seq 100); do [ "$(inside systemctl is-active example-app.service)" != active ] && break; sleep 0.1; done
[ "$(inside systemctl is-active example-app.service)" != active ] || fail "example-app kept running after its sidecar left on a regression"
inside journalctl -u schemagate@app.service SCHEMAGATE_EVENT=regression --no-pager | grep -q "behind target" \
    || fail "no regression entry in the journal"
ok "a rollback below the target: schemagate@app left (--on-regression=exit) and BindsTo= stopped example-app"
# --- an old release's app stops with its sidecar once a contract migration makes it incompatible ----
inside systemctl start example-old.service || fail "example-old did not start: $(inside systemctl status schemagate@old --no-pager 2>&1 | tail -10)"
# Paused past its lease, the old sidecar drops out of the fleet; a deploy job applies the contract.
inside systemctl kill -s SIGSTOP schemagate@old.service
inside schemagate migrate --database-url 'host=127.0.0.1 port=5433 dbname=old user=postgres' --migrations /srv/new/migrations \
    --wait-for-contract --lock-wait 30s >"$BASE/contract-migrate" 2>&1 || fail "migrate --wait-for-contract: $(tail -5 "$BASE/contract-migrate")"
[ "$(psql_inside old "SELECT value->>'version' FROM schemagate_settings WHERE key = 'schema_version'")" = 3 ] || fail "the contract migration was not applied"
inside systemctl kill -s SIGCONT schemagate@old.service
for _ in $(seq 100); do [ "$(inside systemctl is-active example-old.service)" = active ] || break; sleep 0.1; done
[ "$(inside systemctl is-active example-old.service)" != active ] || fail "example-old still runs on an incompatible schema"
[ "$(inside systemctl show -P ExecMainStatus schemagate@old.service)" = 76 ] || fail "the old sidecar's exit status is not 76: $(inside systemctl status schemagate@old --no-pager | tail -5)"
[ "$(inside systemctl show -P NRestarts schemagate@old.service)" = 0 ] || fail "the old sidecar was restarted despite RestartPreventExitStatus"
inside journalctl -u schemagate@old.service SCHEMAGATE_EVENT=incompatible --no-pager | grep -q "drop_name" || fail "no incompatible entry naming drop_name"
ok "an old release's app bound with BindsTo= stopped when its sidecar found 0003 applied (exit 76, not restarted)"
echo "all systemd checks passed"
