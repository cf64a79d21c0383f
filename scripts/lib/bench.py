"""The measurements behind scripts/bench. Each scenario runs against its own database; times are
wall-clock on this machine, reported as median with min-max over the runs."""
import os, random, signal, statistics, subprocess, tempfile, time

BIN = os.environ["SCHEMAGATE_BIN"]
SOCKET, PORT, PGB_PORT = os.environ["PG_SOCKET"], os.environ["PG_PORT"], os.environ["PGB_PORT"]
QUICK = os.environ.get("QUICK") == "1"
counter = 0


def psql(db, sql):
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-h", SOCKET, "-p", PORT, "-U", "postgres", "-d", db, "-c", sql],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def new_db():
    global counter
    counter += 1
    name = f"bench_{os.getpid()}_{counter}"
    psql("postgres", f"CREATE DATABASE {name}")
    return name


def direct(db):
    return f"host={SOCKET} port={PORT} dbname={db} user=postgres"


def pooled(db):
    return f"host=127.0.0.1 port={PGB_PORT} dbname={db} user=postgres"


def folder(count, sleep=0.0, first_sleep=0.0):
    path = tempfile.mkdtemp(prefix="schemagate-bench-")
    with open(f"{path}/0001_audit.up.sql", "w") as f:
        f.write("CREATE TABLE audit (version int PRIMARY KEY);\nINSERT INTO audit VALUES (1);\n" +
                (f"SELECT pg_sleep({first_sleep});\n" if first_sleep else ""))
    for v in range(2, count + 1):
        with open(f"{path}/{v:04d}_step.up.sql", "w") as f:
            f.write(f"CREATE TABLE step_{v} (id int);\n" + (f"SELECT pg_sleep({sleep});\n" if sleep else "") +
                    f"INSERT INTO audit VALUES ({v});\n")
    return path


def start(url, path, *extra):
    return subprocess.Popen([BIN, "migrate", "--database-url", url, "--migrations", path, "--lock-wait", "120s", *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summary(values, unit="ms"):
    values = sorted(values)
    return f"{statistics.median(values):8.0f} {unit}  ({values[0]:.0f}–{values[-1]:.0f}, n={len(values)})"


def convergence(n):
    """Start N migrators over 10 migrations; time from the last commit until the last exit. The
    first migration sleeps long enough for every process to have started and be waiting, so the
    figure is the wake-up, not process start-up on 2 cores."""
    db = new_db()
    path = folder(10, first_sleep=max(1.0, n * 0.04))
    t0 = time.time()
    procs = [start(direct(db), path) for _ in range(n)]
    ends = []
    pending = list(procs)
    while pending:
        for p in list(pending):
            if p.poll() is not None:
                ends.append(time.time())
                pending.remove(p)
        time.sleep(0.002)
    assert all(p.returncode == 0 for p in procs), [p.returncode for p in procs]
    # started_at is the migration transaction's start; duration_ms runs to just before COMMIT.
    last_commit = float(psql(db, "SELECT extract(epoch FROM max(started_at + duration_ms * interval '1 millisecond')) "
                                 "FROM schemagate_history WHERE success"))
    return (max(ends) - last_commit) * 1000, (max(ends) - t0) * 1000


def takeover(url_for):
    """SIGKILL the holder in the middle of a 3 s migration; time until another instance holds the lock."""
    db = new_db()
    path = folder(3, sleep=3)
    procs = [start(url_for(db), path, "--lease", "5s") for _ in range(4)]
    owner = ""
    while not owner:
        time.sleep(0.02)
        owner = psql(db, "SELECT coalesce((SELECT value->>'owner' FROM schemagate_settings WHERE key = 'migration_lock'), '')") \
            if psql(db, "SELECT to_regclass('schemagate_settings') IS NOT NULL") == "t" else ""
    time.sleep(random.uniform(0.3, 1.5))
    pid = int(psql(db, "SELECT value->>'pid' FROM schemagate_settings WHERE key = 'migration_lock'"))
    victim = next(p for p in procs if p.pid == pid)
    killed = time.time()
    victim.send_signal(signal.SIGKILL)
    while True:
        now_owner = psql(db, "SELECT coalesce((SELECT value->>'owner' FROM schemagate_settings WHERE key = 'migration_lock'), '')")
        if now_owner and now_owner != owner:
            took = (time.time() - killed) * 1000
            break
        time.sleep(0.005)
    for p in procs:
        p.wait()
    return took


def waiter_qps(url_for):
    """Queries per second that one waiting instance costs, from pg_stat_database over 5 s."""
    db = new_db()
    path = folder(2, sleep=22)
    holder = start(url_for(db), path, "--lease", "30s")
    while psql(db, "SELECT to_regclass('audit') IS NOT NULL") != "t":
        time.sleep(0.05)
    time.sleep(1.5)
    def commits():
        # Backends report their counters at most once a second: take the figure after a pause.
        return int(psql(db, f"SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '{db}'"))
    window = 6
    base0 = commits(); time.sleep(window); base1 = commits()   # the holder alone, and our probes
    waiter = start(url_for(db), path)
    time.sleep(2)
    w0 = commits(); time.sleep(window); w1 = commits()
    holder.wait(); waiter.wait()
    return ((w1 - w0) - (base1 - base0)) / window


runs = 2 if QUICK else 5
rows = []
for n in ([10] if QUICK else [10, 50, 100]):
    results = [convergence(n) for _ in range(runs)]
    rows.append((f"convergence N={n}: last commit → all exited", summary([r[0] for r in results])))
    rows.append((f"convergence N={n}: start → all exited", summary([r[1] for r in results])))
rows.append(("takeover after SIGKILL, direct", summary([takeover(direct) for _ in range(runs)])))
rows.append(("takeover after SIGKILL, PgBouncer (lease 5s)", summary([takeover(pooled) for _ in range(runs)])))
rows.append(("queries/s of one waiter, direct", f"{waiter_qps(direct):8.1f} q/s"))
rows.append(("queries/s of one waiter, PgBouncer", f"{waiter_qps(pooled):8.1f} q/s"))
width = max(len(r[0]) for r in rows)
print()
for name, value in rows:
    print(f"{name.ljust(width)}  {value}")
