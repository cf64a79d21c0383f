"""The measurements behind scripts/bench. Every scenario runs against its own database on
the throwaway server scripts/bench started; each figure is wall-clock on this machine, reported as
median with min-max over repeated runs, beside a floor measured in the same run, and their ratio.
Nothing here asserts a figure: it prints a table and writes a Markdown report."""
import atexit, os, platform, random, shutil, signal, socket, statistics, struct, subprocess, sys, tempfile, threading, time

BIN = os.environ["SCHEMAGATE_BIN"]
# Optionally the same source built with --static-swift-stdlib: measured beside BIN where linking
# matters (start-up and memory).
STATIC_BIN = os.environ.get("SCHEMAGATE_STATIC_BIN", "")
VARIANTS = [("", BIN)] + ([(" [static stdlib]", STATIC_BIN)] if STATIC_BIN else [])
DBMATE = os.environ.get("DBMATE_BIN", "")
SOCKET, PORT, PGB_PORT = os.environ["PG_SOCKET"], os.environ["PG_PORT"], os.environ["PGB_PORT"]
QUICK = os.environ.get("QUICK") == "1"
REPORT = os.environ.get("REPORT", "")
BUILD = os.environ.get("BUILD", "release")
# The psql binary itself: Debian's /usr/bin/psql is pg_wrapper, a Perl script whose start-up
# would triple the floor.
PSQL = os.path.join(os.environ.get("PG_BINDIR", "/usr/bin"), "psql")
counter = 0


# ---------------------------------------------------------------------------------------------
# PostgreSQL: psql for set-up, a minimal wire-protocol client for sampling (no process per probe)

def psql(db, sql):
    out = subprocess.run([PSQL, "-X", "-q", "-A", "-t", "-h", SOCKET, "-p", PORT, "-U", "postgres", "-d", db, "-c", sql],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


class Wire:
    """Simple-query protocol over the Unix socket, trust authentication: enough to sample
    pg_stat_activity every few milliseconds without starting a process per sample."""

    def __init__(self, db):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(f"{SOCKET}/.s.PGSQL.{PORT}")
        self.file = self.sock.makefile("rb")
        body = struct.pack("!i", 196608) + b"user\0postgres\0database\0" + db.encode() + b"\0application_name\0bench\0\0"
        self.sock.sendall(struct.pack("!i", len(body) + 4) + body)
        self._until_ready()

    def _message(self):
        kind = self.file.read(1)
        length, = struct.unpack("!i", self.file.read(4))
        return kind, self.file.read(length - 4)

    def _until_ready(self):
        rows, error = [], None
        while True:
            kind, payload = self._message()
            if kind == b"D":
                count, = struct.unpack("!h", payload[:2])
                offset, row = 2, []
                for _ in range(count):
                    size, = struct.unpack("!i", payload[offset:offset + 4])
                    offset += 4
                    row.append(None if size < 0 else payload[offset:offset + size].decode())
                    offset += max(size, 0)
                rows.append(row)
            elif kind == b"E":
                error = payload.decode(errors="replace")
            elif kind == b"Z":
                if error:
                    raise RuntimeError(error)
                return rows

    def query(self, sql):
        body = sql.encode() + b"\0"
        self.sock.sendall(b"Q" + struct.pack("!i", len(body) + 4) + body)
        return self._until_ready()

    def value(self, sql):
        rows = self.query(sql)
        return rows[0][0] if rows else None

    def close(self):
        self.sock.close()


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


def dbmate_url(db):
    return f"postgres://postgres@/{db}?sslmode=disable&host={SOCKET}&port={PORT}"


def transactions(db):
    # Backends report their counters at most once a second: callers pause before reading.
    return int(psql(db, f"SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '{db}'"))


# ---------------------------------------------------------------------------------------------
# Migration folders

def small_sql(v):
    return f"CREATE TABLE step_{v} (id int PRIMARY KEY, note text);\nINSERT INTO step_{v} VALUES ({v}, 'step {v}');\n"


def realistic_sql(v):
    """Version `v` of a folder of the DDL real applications write: a table with an identity key,
    jsonb, defaults and a composite index each time, and in turn a plpgsql function with its
    trigger, a DO block that seeds rows, a view over the previous table, or a foreign key, a
    CHECK constraint and a comment."""
    sql = (f"CREATE TABLE t_{v} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id bigint NOT NULL,\n"
           f"  created_at timestamptz NOT NULL DEFAULT now(), payload jsonb NOT NULL DEFAULT '{{}}', note text);\n"
           f"CREATE INDEX t_{v}_user_created ON t_{v} (user_id, created_at);\n")
    kind = v % 4
    if kind == 0:
        sql += (f"CREATE FUNCTION t_{v}_touch() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                f"BEGIN\n  -- keep the note; a ; and a ' in a comment\n  NEW.note := coalesce(NEW.note, 'v{v}');\n  RETURN NEW;\nEND\n$$;\n"
                f"CREATE TRIGGER t_{v}_touch BEFORE INSERT OR UPDATE ON t_{v} FOR EACH ROW EXECUTE FUNCTION t_{v}_touch();\n")
    elif kind == 1:
        sql += (f"DO $$\nBEGIN\n  FOR i IN 1..20 LOOP\n    INSERT INTO t_{v} (user_id, payload) VALUES (i, jsonb_build_object('n', i));\n"
                f"  END LOOP;\nEND\n$$;\n")
    elif kind == 2 and v > 1:
        sql += f"CREATE VIEW t_{v}_recent AS SELECT id, user_id, created_at FROM t_{v - 1} WHERE created_at > now() - interval '1 day';\n"
    else:
        sql += (f"ALTER TABLE t_{v} ADD CONSTRAINT t_{v}_user_positive CHECK (user_id > 0);\n"
                + (f"ALTER TABLE t_{v} ADD COLUMN parent_id bigint REFERENCES t_{v - 1} (id);\n" if v > 1 else "")
                + f"COMMENT ON TABLE t_{v} IS 'version {v}; realistic';\n")
    return sql


def one_session_script(count, body):
    """The floor's input: every version's SQL in one file, one transaction each."""
    script = tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False)
    script.write("".join(f"BEGIN;\n{body(v)}COMMIT;\n" for v in range(1, count + 1)))
    script.close()
    atexit.register(os.unlink, script.name)
    return script.name


def scratch(prefix):
    """A temporary folder, removed when the script ends."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, True)
    return path


def folder(count, sleep=0.0, first_sleep=0.0, body=None):
    """A schemagate folder of `count` migrations; version 1 creates `audit`, the others a table each."""
    path = scratch("schemagate-bench-")
    for v in range(1, count + 1):
        if body:
            sql = body(v)
        elif v == 1:
            sql = "CREATE TABLE audit (version int PRIMARY KEY);\nINSERT INTO audit VALUES (1);\n" + \
                  (f"SELECT pg_sleep({first_sleep});\n" if first_sleep else "")
        else:
            sql = f"CREATE TABLE step_{v} (id int);\n" + (f"SELECT pg_sleep({sleep});\n" if sleep else "") + \
                  f"INSERT INTO audit VALUES ({v});\n"
        with open(f"{path}/{v:04d}_step.up.sql", "w") as f:
            f.write(sql)
    return path


def dbmate_folder(count, body):
    path = scratch("schemagate-bench-dbmate-")
    for v in range(1, count + 1):
        with open(f"{path}/{v:04d}_step.sql", "w") as f:
            f.write(f"-- migrate:up\n{body(v)}\n-- migrate:down\nDROP TABLE step_{v};\n")
    return path


# ---------------------------------------------------------------------------------------------
# Processes: one-shot `schemagate migrate`, and `schemagate daemon` whose READY=1 we hear

class NotifyListener:
    """A NOTIFY_SOCKET (abstract datagram socket) for many daemons at once: SO_PASSCRED makes the
    kernel attach each sender's pid, so one socket tells the daemons apart. Records the wall-clock
    time of each process's first READY=1."""

    def __init__(self):
        self.name = f"schemagate-bench-{os.getpid()}-{random.randrange(1 << 30)}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind("\0" + self.name)
        self.ready = {}
        self.lock = threading.Condition()
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return "@" + self.name

    def _run(self):
        self.sock.settimeout(0.2)
        while not self.stopped:
            try:
                data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
            except socket.timeout:
                continue
            now = time.time()
            pid = next((struct.unpack("iII", d[:12])[0] for level, kind, d in ancillary
                        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS), None)
            if pid is not None and b"READY=1" in data.split(b"\n"):
                with self.lock:
                    self.ready.setdefault(pid, now)
                    self.lock.notify_all()

    def wait(self, pids, timeout=300):
        deadline = time.time() + timeout
        with self.lock:
            while not all(p in self.ready for p in pids):
                if time.time() > deadline:
                    raise TimeoutError(f"{sum(p not in self.ready for p in pids)} daemons never said READY=1")
                self.lock.wait(0.05)
            return [self.ready[p] for p in pids]

    def close(self):
        self.stopped = True
        self.thread.join()
        self.sock.close()


def migrate(url, path, *extra):
    return subprocess.Popen([BIN, "migrate", "--database-url", url, "--migrations", path, "--lock-wait", "120s", *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def daemon(listener, url, path, *extra, binary=BIN):
    env = dict(os.environ, NOTIFY_SOCKET=listener.address)
    return subprocess.Popen([binary, "daemon", "--database-url", url, "--migrations", path, "--lock-wait", "120s", *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def stop(procs):
    """SIGTERM every daemon (they exit 0 on it) and check that they did."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    codes = [p.wait(timeout=30) for p in procs]
    assert all(c == 0 for c in codes), f"daemon exit codes {codes}"


def timed(argv, env=None):
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return (time.perf_counter() - started) * 1000


# ---------------------------------------------------------------------------------------------
# Scenarios

RUNS = 2 if QUICK else 5
rows = []      # (scenario, figure, values, unit, floor values or None, target text, met or None)


def record(scenario, figure, values, unit="ms", floor=None, target="", met=None):
    rows.append((scenario, figure, values if isinstance(values, list) else [values], unit, floor, target, met))
    print(f"  {figure}: {fmt(values if isinstance(values, list) else [values], unit)}", file=sys.stderr, flush=True)


def fast_path():
    """1. Process start to READY=1 with nothing pending, against `psql -c 'select 1'`."""
    print("1. fast path", file=sys.stderr, flush=True)
    db = new_db()
    path = folder(10)
    subprocess.run([BIN, "migrate", "--database-url", direct(db), "--migrations", path], check=True, capture_output=True)
    mate_db = new_db()
    mate_path = dbmate_folder(10, small_sql)
    mate = [DBMATE, "--url", dbmate_url(mate_db), "--migrations-dir", mate_path, "--no-dump-schema"]
    if DBMATE:
        subprocess.run(mate + ["migrate"], check=True, capture_output=True)
    for _ in range(3):   # warm the server's and the page cache before timing
        timed([PSQL, "-X", "-h", SOCKET, "-p", PORT, "-U", "postgres", "-d", db, "-c", "select 1"])
        timed([BIN, "migrate", "--database-url", direct(db), "--migrations", path])
    runs = 5 if QUICK else 21
    listener = NotifyListener()
    floor, peer = [], []
    ready = {binary: [] for _, binary in VARIANTS}
    oneshot = {binary: [] for _, binary in VARIANTS}
    try:
        for _ in range(runs):
            floor.append(timed([PSQL, "-X", "-h", SOCKET, "-p", PORT, "-U", "postgres", "-d", db, "-c", "select 1"]))
            for _, binary in VARIANTS:
                # As it runs under systemd: the status socket is bound before READY=1.
                sock = os.path.join(tempfile.gettempdir(), f"schemagate-bench-{os.getpid()}.sock")
                started = time.time()
                proc = daemon(listener, direct(db), path, "--socket", sock, binary=binary)
                ready[binary].append((listener.wait([proc.pid], timeout=60)[0] - started) * 1000)
                stop([proc])
                oneshot[binary].append(timed([binary, "migrate", "--database-url", direct(db), "--migrations", path]))
            if DBMATE:
                peer.append(timed(mate + ["migrate"]))
    finally:
        listener.close()
    for label, binary in VARIANTS:
        record("1 fast path", f"daemon start → READY=1, nothing pending, socket bound{label}", ready[binary], floor=floor,
               target="≤ 1.5× floor", met=ratio(ready[binary], floor) <= 1.5)
        record("1 fast path", f"`schemagate migrate`, nothing pending (start → exit){label}", oneshot[binary], floor=floor,
               target="≤ 1.3× floor", met=ratio(oneshot[binary], floor) <= 1.3)
    if DBMATE:
        record("1 fast path", "peer: `dbmate migrate`, nothing pending", peer, floor=floor)
    record("1 fast path", "floor: `psql -X -c 'select 1'`", floor)


def bulk_apply():
    """2. 1,000 small migrations from empty, against one psql session with one transaction each."""
    count = 50 if QUICK else 1000
    print(f"2. bulk apply ({count})", file=sys.stderr, flush=True)
    path = folder(count, body=small_sql)
    script = one_session_script(count, small_sql)
    mate_path = dbmate_folder(count, small_sql)
    runs = 1 if QUICK else 3
    floor, ours, peer = [], [], []
    for _ in range(runs):
        floor.append(psql_file(script))
        ours.append(timed([BIN, "migrate", "--database-url", direct(new_db()), "--migrations", path]))
        if DBMATE:
            peer.append(timed([DBMATE, "--url", dbmate_url(new_db()), "--migrations-dir", mate_path, "--no-dump-schema", "migrate"]))
    record("2 bulk apply", f"`schemagate migrate`, {count} migrations from empty", ours, floor=floor,
           target="≤ 1.2× floor", met=ratio(ours, floor) <= 1.2)
    if DBMATE:
        record("2 bulk apply", f"peer: `dbmate migrate`, {count} migrations", peer, floor=floor)
    record("2 bulk apply", f"floor: one psql session, {count} transactions", floor)
    if DBMATE:
        bulk_against_dbmate()


def bulk_against_dbmate():
    """2b. 200 small migrations from empty: schemagate beside dbmate, with and without its lock."""
    count = 20 if QUICK else 200
    path = folder(count, body=small_sql)
    mate_path = dbmate_folder(count, small_sql)
    runs = 1 if QUICK else 7
    ours, peer, locked = [], [], []
    for _ in range(runs):   # interleaved, so that the machine's load falls on all three alike
        ours.append(timed([BIN, "migrate", "--database-url", direct(new_db()), "--migrations", path]))
        mate = [DBMATE, "--url", dbmate_url(new_db()), "--migrations-dir", mate_path, "--no-dump-schema"]
        peer.append(timed(mate + ["migrate"]))
        mate = [DBMATE, "--url", dbmate_url(new_db()), "--migrations-dir", mate_path, "--no-dump-schema", "--migration-lock"]
        locked.append(timed(mate + ["migrate"]))
    record("2 bulk apply", f"`schemagate migrate`, {count} small migrations from empty", ours, floor=peer,
           target="≤ dbmate (ratio ≤ 1)", met=ratio(ours, peer) <= 1)
    record("2 bulk apply", f"peer: `dbmate migrate`, {count} migrations (the floor of the row above)", peer)
    record("2 bulk apply", f"peer: `dbmate --migration-lock migrate`, {count} migrations", locked, floor=peer)


def race():
    """6. 50 one-shot migrates released at once over 10 pending migrations (one sleeps 1 s),
    beside 50 `dbmate --migration-lock migrate`s over the same SQL."""
    n = 10 if QUICK else 50
    print(f"6. race ({n} at once)", file=sys.stderr, flush=True)
    body = lambda v: small_sql(v) + ("SELECT pg_sleep(1);\n" if v == 5 else "")
    path = folder(10, body=body)
    mate_path = dbmate_folder(10, body)
    runs = 1 if QUICK else 5

    def burst(argv_for):
        started = time.perf_counter()
        procs = [subprocess.Popen(argv_for(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(n)]
        codes = [p.wait(timeout=300) for p in procs]
        assert all(c == 0 for c in codes), f"exit codes {sorted(set(codes))}"
        return (time.perf_counter() - started) * 1000

    ours, peer = [], []
    for _ in range(runs):
        db = new_db()
        ours.append(burst(lambda: [BIN, "migrate", "--database-url", direct(db), "--migrations", path, "--lock-wait", "120s"]))
        applied = psql(db, "SELECT count(*) FROM schemagate_history WHERE success")
        assert applied == "10", f"schemagate applied {applied} rows, not 10"
        if DBMATE:
            mate_db = new_db()
            peer.append(burst(lambda: [DBMATE, "--url", dbmate_url(mate_db), "--migrations-dir", mate_path,
                                       "--no-dump-schema", "--migration-lock", "migrate"]))
    record("6 race", f"{n} `schemagate migrate`s at once, 10 pending (one sleeps 1 s): start → all exited", ours,
           floor=peer or None, target="≤ dbmate (ratio ≤ 1)" if peer else "", met=ratio(ours, peer) <= 1 if peer else None)
    if peer:
        record("6 race", f"peer: {n} `dbmate --migration-lock migrate`s at once (the floor of the row above)", peer)


def psql_file(script):
    """Milliseconds for one psql session to run `script` into a new database."""
    return timed([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", SOCKET, "-p", PORT, "-U", "postgres", "-d", new_db(), "-f", script])


def realistic():
    """7. 150 versions of realistic DDL (tables, indexes, functions and triggers, DO blocks,
    views, constraints), against one psql session running the same SQL, one transaction each."""
    count = 30 if QUICK else 150
    print(f"7. realistic DDL ({count})", file=sys.stderr, flush=True)
    path = folder(count, body=realistic_sql)
    script = one_session_script(count, realistic_sql)
    floor, ours = [], []
    # Interleaved, and more runs than elsewhere: a DDL-heavy run varies with the machine's load.
    for _ in range(2 if QUICK else 9):
        floor.append(psql_file(script))
        ours.append(timed([BIN, "migrate", "--database-url", direct(new_db()), "--migrations", path]))
    record("7 realistic DDL", f"`schemagate migrate`, {count} versions of tables, indexes, functions, DO blocks", ours, floor=floor,
           target="≤ 1.2× floor", met=ratio(ours, floor) <= 1.2)
    record("7 realistic DDL", f"floor: one psql session, the same {count} versions, one transaction each", floor)


class ConnectionSampler:
    """Samples the number of server connections to `db` every few milliseconds; keeps the peak."""

    def __init__(self, db):
        self.wire = Wire(db)
        self.db = db
        self.peak = 0
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped:
            count = int(self.wire.value(
                f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{self.db}' AND pid <> pg_backend_pid()"))
            self.peak = max(self.peak, count)
            time.sleep(0.005)

    def close(self):
        self.stopped = True
        self.thread.join()
        self.wire.close()
        return self.peak


def convergence(n):
    """N daemons started together over 10 pending migrations. The first migration sleeps long
    enough for all of them to have started on 2 cores, so that 'last commit → all ready' is the
    wake-up of waiting daemons, not process start-up."""
    db = new_db()
    first_sleep = max(1.0, n * 0.04)
    path = folder(10, first_sleep=first_sleep)
    sampler = ConnectionSampler(db)
    listener = NotifyListener()
    try:
        started = time.time()
        procs = [daemon(listener, direct(db), path) for _ in range(n)]
        ready = listener.wait([p.pid for p in procs])
        stop(procs)
    finally:
        listener.close()
        peak = sampler.close()
    last_commit = float(psql(db, "SELECT extract(epoch FROM max(started_at + duration_ms * interval '1 millisecond')) "
                                 "FROM schemagate_history WHERE success"))
    return (max(ready) - last_commit) * 1000, (max(ready) - started) * 1000, peak, first_sleep


def waiter_qps(url_for, waiters):
    """Queries per second that one waiting daemon costs the server (pg_stat_database transactions)."""
    db = new_db()
    path = folder(2)
    # The holder is a lock record with a long lease and no process behind it: a real holder's
    # governor samples its own backend every 50 ms, and those counts reach pg_stat_database in
    # lumps (a busy backend flushes its statistics at most once a second), which swamped the
    # waiters' own cost in the difference below.
    subprocess.run([BIN, "migrate", "--database-url", direct(db), "--migrations", path, "--target", "1"],
                   check=True, capture_output=True)
    psql(db, """INSERT INTO schemagate_settings VALUES ('migration_lock', jsonb_build_object(
        'owner', 'bench-holder', 'host', 'elsewhere', 'pid', 1, 'taken_at', extract(epoch FROM now()),
        'expires_at', extract(epoch FROM now()) + 600, 'session_visible', false))""")
    listener = NotifyListener()
    try:
        time.sleep(1.5)
        window = 2 if QUICK else 6
        base0 = transactions(db); time.sleep(window); base1 = transactions(db)   # our probes alone
        procs = [daemon(listener, url_for(db), path) for _ in range(waiters)]
        time.sleep(2.5)
        w0 = transactions(db); time.sleep(window); w1 = transactions(db)
        assert not listener.ready, "a waiter was ready before the holder finished"
    finally:
        for p in procs if "procs" in locals() else []:
            p.kill(); p.wait()
        listener.close()
    return ((w1 - w0) - (base1 - base0)) / window / waiters


def fleet():
    print("3. fleet convergence", file=sys.stderr, flush=True)
    for n in ([10] if QUICK else [10, 50, 100]):
        results = [convergence(n) for _ in range(RUNS)]
        sleep = results[0][3]
        scenario = f"3 fleet N={n}"
        record(scenario, f"start → all ready (first migration sleeps {sleep:g} s)", [r[1] for r in results])
        target = "< 300 ms at N=100" if n == 100 else ""
        record(scenario, "last commit → all ready", [r[0] for r in results], target=target,
               met=(statistics.median([r[0] for r in results]) < 300) if n == 100 else None)
        record(scenario, "peak server connections", [r[2] for r in results], unit="conn")
    waiters = 3 if QUICK else 10
    record("3 fleet", f"queries/s per waiting daemon, direct ({waiters} waiting)", waiter_qps(direct, waiters), unit="q/s")
    record("3 fleet", f"queries/s per waiting daemon, PgBouncer ({waiters} waiting)", waiter_qps(pooled, waiters), unit="q/s")


def takeover(url_for):
    """SIGKILL the holder in the middle of a 3 s migration; time until the next holder's first
    statement, which is the start (now()) of its transaction for the same migration, recorded in
    schemagate_history."""
    db = new_db()
    path = folder(3, sleep=3)
    procs = [migrate(url_for(db), path, "--lease", "5s") for _ in range(4)]
    wire = Wire(db)
    try:
        owner = None
        while not owner:
            time.sleep(0.01)
            if wire.value("SELECT to_regclass('schemagate_settings') IS NOT NULL") == "t":
                owner = wire.value("SELECT value->>'pid' FROM schemagate_settings WHERE key = 'migration_lock'")
        time.sleep(random.uniform(0.3, 1.5))
        pid = int(wire.value("SELECT value->>'pid' FROM schemagate_settings WHERE key = 'migration_lock'"))
        victim = next(p for p in procs if p.pid == pid)
        killed = time.time()
        victim.send_signal(signal.SIGKILL)
        for p in procs:
            p.wait(timeout=120)
        first = float(wire.value(f"SELECT extract(epoch FROM min(started_at)) FROM schemagate_history "
                                 f"WHERE pid <> {pid} AND started_at > to_timestamp({killed})"))
    finally:
        wire.close()
    return (first - killed) * 1000


def takeovers():
    print("4. takeover", file=sys.stderr, flush=True)
    runs = 1 if QUICK else RUNS
    times = [takeover(direct) for _ in range(runs)]
    record("4 takeover", "SIGKILL of holder → next holder's first statement, direct", times,
           target="< 1 s", met=statistics.median(times) < 1000)
    times = [takeover(pooled) for _ in range(runs)]
    record("4 takeover", "the same through PgBouncer (lease 5 s)", times,
           target="< lease (5 s)", met=statistics.median(times) < 5000)


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mib(pid):
    """Rss (what the target names; counts shared library pages), and the memory the daemon alone
    holds (Private_Clean + Private_Dirty), from smaps_rollup."""
    fields = {line.split(":")[0]: int(line.split()[1]) for line in open(f"/proc/{pid}/smaps_rollup") if line.endswith("kB\n")}
    return fields["Rss"] / 1024, (fields["Private_Clean"] + fields["Private_Dirty"]) / 1024


def footprint():
    print("5. footprint", file=sys.stderr, flush=True)
    db = new_db()
    path = folder(10)
    subprocess.run([BIN, "migrate", "--database-url", direct(db), "--migrations", path], check=True, capture_output=True)
    idle = 3 if QUICK else 10
    window = 5 if QUICK else 60
    listener = NotifyListener()
    # Each with its status socket, as under systemd: the status server's memory counts.
    sockets = iter(os.path.join(tempfile.gettempdir(), f"schemagate-bench-{os.getpid()}-{i}.sock") for i in range(1000))
    procs = {binary: [daemon(listener, direct(db), path, "--socket", next(sockets), binary=binary) for _ in range(idle)]
             for _, binary in VARIANTS}
    everyone = [p for group in procs.values() for p in group]
    try:
        listener.wait([p.pid for p in everyone])
        time.sleep(2)
        # Written-back page cache is not the daemon's memory: flush it before reading smaps.
        os.sync()
        memory = {binary: [memory_mib(p.pid) for p in group] for binary, group in procs.items()}
        cpu0 = {p.pid: cpu_seconds(p.pid) for p in everyone}
        conns = int(psql(db, f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' AND pid <> pg_backend_pid()"))
        x0 = transactions(db)
        time.sleep(window)
        x1 = transactions(db)
        cpu = {binary: [(cpu_seconds(p.pid) - cpu0[p.pid]) / window * 3600 for p in group] for binary, group in procs.items()}
    finally:
        stop(everyone)
        listener.close()
    for label, binary in VARIANTS:
        rss = [m[0] for m in memory[binary]]
        record("5 footprint", f"idle daemon RSS after ready{label}", rss, unit="MiB", target="≤ 16 MiB", met=statistics.median(rss) <= 16)
        record("5 footprint", f"… of which private to the daemon (not shared library pages){label}",
               [m[1] for m in memory[binary]], unit="MiB")
        record("5 footprint", f"idle daemon CPU (over {window} s, per hour){label}", cpu[binary], unit="s/h")
    record("5 footprint", "server connections per idle daemon", conns / len(everyone), unit="conn")
    record("5 footprint", "server transactions/s per idle daemon", ((x1 - x0) - 1) / window / len(everyone), unit="q/s")
    for label, binary in VARIANTS:
        record("5 footprint", f"binary size ({BUILD} build, unstripped){label}", os.path.getsize(binary) / 2**20, unit="MiB")
        record("5 footprint", f"… plus the Swift shared libraries it loads{label}", swift_libraries(binary) / 2**20, unit="MiB")
        stripped = stripped_size(binary) / 1e6
        record("5 footprint", f"binary size, stripped{label}", stripped, unit="MB", target="≤ 25 MB", met=stripped <= 25)
    if DBMATE:
        record("5 footprint", "peer: dbmate binary (static; no daemon, so no idle figures)", os.path.getsize(DBMATE) / 2**20, unit="MiB")


def stripped_size(binary):
    with tempfile.TemporaryDirectory() as directory:
        target = os.path.join(directory, "schemagate")
        subprocess.run(["strip", "-o", target, binary], check=True)
        return os.path.getsize(target)


def swift_libraries(binary):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    paths = [line.split("=>")[1].split("(")[0].strip() for line in out.splitlines() if "=>" in line]
    return sum(os.path.getsize(p) for p in paths if "/swift" in p)


# ---------------------------------------------------------------------------------------------
# Report

def ratio(values, floor):
    return statistics.median(values) / statistics.median(floor)


def fmt(values, unit):
    m = statistics.median(values)
    digits = 0 if unit in ("ms", "conn") and m >= 10 else 2
    text = f"{m:.{digits}f} {unit}"
    if len(values) > 1:
        text += f" ({min(values):.{digits}f}–{max(values):.{digits}f}, n={len(values)})"
    return text


def table():
    header = ["scenario", "figure", "median (min–max, n)", "floor", "ratio", "target", "met"]
    body = []
    for scenario, figure, values, unit, floor, target, met in rows:
        body.append([scenario, figure, fmt(values, unit),
                     f"{statistics.median(floor):.0f} ms" if floor else "",
                     f"{ratio(values, floor):.2f}×" if floor else "",
                     target, "" if met is None else ("yes" if met else "MISSED")])
    return header, body


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
    memory = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")) / 2**20
    def version(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True).stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return "?"
    commit = version(["git", "rev-parse", "--short", "HEAD"])
    return [
        f"machine: {cpu}, {os.cpu_count()} cores, {memory:.1f} GiB; {platform.system()} {platform.release()}",
        f"schemagate: {commit} ({BUILD} build); {version(['swift', '--version'])}",
        f"server: {psql('postgres', 'SHOW server_version')} (fsync off, Unix socket); {version(['pgbouncer', '--version'])}",
        f"peer: {version([DBMATE, '--version']) if DBMATE else 'dbmate not installed'}",
    ]


def contract_folders():
    """Release A (0001: people.name) and release B (+ 0002 full_name, + 0003 contract: drop name)."""
    old_path = scratch("schemagate-bench-contract-a-")
    with open(os.path.join(old_path, "0001_people.up.sql"), "w") as f:
        f.write("CREATE TABLE people (id int PRIMARY KEY, name text);\n")
    new_path = scratch("schemagate-bench-contract-b-")
    shutil.copy(os.path.join(old_path, "0001_people.up.sql"), new_path)
    with open(os.path.join(new_path, "0002_add_full_name.up.sql"), "w") as f:
        f.write("ALTER TABLE people ADD COLUMN full_name text;\n")
    with open(os.path.join(new_path, "0003_drop_name.up.sql"), "w") as f:
        f.write("-- schemagate: contract\nALTER TABLE people DROP COLUMN name;\n")
    return old_path, new_path


def contract_floor():
    """The floor: `schemagate migrate` applying 0003 itself, nothing holding it back (process
    start, connect, plan, lock, apply, release)."""
    db = new_db()
    _, new_path = contract_folders()
    subprocess.run([BIN, "migrate", "--database-url", direct(db), "--migrations", new_path, "--target", "2"], check=True, capture_output=True)
    return timed([BIN, "migrate", "--database-url", direct(db), "--migrations", new_path])


def contract_run(kill):
    """One old-release daemon (target 1) and one new-release daemon (target 3, 0003 a contract
    migration): the old one leaves (SIGTERM, or SIGKILL); time from its exit to the start of the
    transaction that applies 0003 (schemagate_history, the database's clock on this host)."""
    db = new_db()
    old_path, new_path = contract_folders()
    listener = NotifyListener()
    options = ("--lease", "3s", "--watch-interval", "500ms")
    old = daemon(listener, direct(db), old_path, "--release", "A", *options)
    listener.wait([old.pid])
    new = daemon(listener, direct(db), new_path, "--release", "B", *options)
    try:
        listener.wait([new.pid])
        assert psql(db, "SELECT value->>'version' FROM schemagate_settings WHERE key = 'schema_version'") == "2"
        old.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        old.wait(timeout=30)
        gone = time.time()
        deadline = gone + 30
        while True:
            at = psql(db, "SELECT extract(epoch FROM started_at) FROM schemagate_history WHERE version = 3 AND direction = 'up' AND success")
            if at:
                return (float(at) - gone) * 1000
            if time.time() > deadline:
                raise TimeoutError("0003 was never applied")
            time.sleep(0.02)
    finally:
        stop([new])
        listener.close()


def contracts():
    print("8. contract migrations", file=sys.stderr, flush=True)
    floor = [contract_floor() for _ in range(RUNS)]
    clean = [contract_run(kill=False) for _ in range(RUNS)]
    record("8 contract", "last old instance's clean stop → contract applied (--watch-interval 500ms)", clean,
           floor=floor, target="< 1 s", met=statistics.median(clean) < 1000)
    killed = [contract_run(kill=True) for _ in range(RUNS)]
    record("8 contract", "SIGKILL of the last old instance → contract applied (--lease 3s)", killed,
           floor=floor, target="< lease + 1 s (4 s)", met=statistics.median(killed) < 4000)


PGBENCH = os.path.join(os.environ.get("PG_BINDIR", "/usr/lib/postgresql/15/bin"), "pgbench")
TRAFFIC_SCRIPT = """\\set id random(1, 1000)
BEGIN;
SELECT * FROM orders WHERE id = :id;
UPDATE orders SET qty = qty + 1 WHERE id = :id;
END;
\\sleep 10 ms
"""


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def traffic_run(tool):
    """pgbench reads and updates `orders` throughout; after a baseline second a reader opens a
    transaction on it and stays idle for 3 s while `tool` adds a column. Returns the latencies (ms)
    of the transactions in the baseline window and in the migration window."""
    db = new_db()
    psql(db, "CREATE TABLE orders (id int PRIMARY KEY, qty int NOT NULL DEFAULT 0); INSERT INTO orders (id) SELECT generate_series(1, 1000)")
    work = scratch("schemagate-bench-traffic-")
    with open(f"{work}/script.sql", "w") as f:
        f.write(TRAFFIC_SCRIPT)
    alter = "ALTER TABLE orders ADD COLUMN note text;"
    if tool == "schemagate":
        path = scratch("schemagate-bench-")
        with open(f"{path}/0001_note.up.sql", "w") as f:
            f.write(alter + "\n")
        argv = [BIN, "migrate", "--database-url", direct(db), "--migrations", path, "--max-block", "200ms"]
    else:
        path = scratch("schemagate-bench-dbmate-")
        with open(f"{path}/0001_note.sql", "w") as f:
            f.write(f"-- migrate:up\n{alter}\n-- migrate:down\nALTER TABLE orders DROP COLUMN note;\n")
        argv = [DBMATE, "--url", dbmate_url(db), "--migrations-dir", path, "--no-dump-schema", "migrate"]
    bench = subprocess.Popen([PGBENCH, "-n", "-f", f"{work}/script.sql", "-c", "4", "-j", "2", "-T", "7", "-l",
                              "--log-prefix", f"{work}/log", "-h", SOCKET, "-p", PORT, "-U", "postgres", db],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    reader = Wire(db)
    reader.query("BEGIN")
    reader.query("SELECT count(*) FROM orders")
    began = time.time()
    tool_process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(3)
    reader.query("COMMIT")
    reader.close()
    assert tool_process.wait(timeout=60) == 0, f"{tool} failed"
    ended = time.time()
    assert bench.wait(timeout=60) == 0, "pgbench failed"
    logged = []
    for name in os.listdir(work):
        if name.startswith("log"):
            for line in open(f"{work}/{name}"):
                fields = line.split()
                if len(fields) >= 6:
                    latency = float(fields[2]) / 1e6
                    end = float(fields[4]) + float(fields[5]) / 1e6
                    logged.append((end - latency, end, latency * 1000))
    start = min(t[0] for t in logged)
    baseline = [ms for s, e, ms in logged if start + 0.3 <= s and e < began]
    window = [ms for s, e, ms in logged if e >= began and s <= ended]
    return baseline, window


def traffic():
    """9. App traffic (pgbench) while a migration queues behind a 3 s reader: p50, p99 and max
    latency in the migration window beside a baseline window, schemagate against dbmate."""
    print("9. traffic", file=sys.stderr, flush=True)
    tools = ["schemagate"] + (["dbmate"] if DBMATE else [])
    for tool in tools:
        results = [traffic_run(tool) for _ in range(1 if QUICK else 3)]
        base_p99 = [percentile(b, 0.99) for b, _ in results]
        p99 = [percentile(w, 0.99) for _, w in results]
        most = [max(w) for _, w in results]
        label = "schemagate --max-block 200ms" if tool == "schemagate" else "peer: dbmate"
        record("9 traffic", f"{label}: pgbench p50 during the migration", [percentile(w, 0.5) for _, w in results],
               floor=[percentile(b, 0.5) for b, _ in results])
        target, met = ("≤ 2× baseline p99 + 200 ms", statistics.median(p99) <= 2 * statistics.median(base_p99) + 200) \
            if tool == "schemagate" else ("", None)
        record("9 traffic", f"{label}: pgbench p99 during the migration", p99, floor=base_p99, target=target, met=met)
        target, met = ("≤ 300 ms", statistics.median(most) <= 300) if tool == "schemagate" else ("", None)
        record("9 traffic", f"{label}: pgbench max during the migration (reader holds 3 s)", most, target=target, met=met)


SCENARIOS = {"fast": fast_path, "bulk": bulk_apply, "fleet": fleet, "takeover": takeovers, "footprint": footprint,
             "race": race, "realistic": realistic, "contract": contracts, "traffic": traffic}


def main():
    began = time.time()
    chosen = sys.argv[1:] or list(SCENARIOS)
    for name in chosen:
        if name not in SCENARIOS:
            sys.exit(f"unknown scenario {name!r}: use {', '.join(SCENARIOS)}")
        SCENARIOS[name]()
    header, body = table()
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    print()
    for line in machine():
        print(line)
    print()
    for r in [header] + body:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print(f"\n({time.time() - began:.0f} s)")
    if REPORT and len(chosen) == len(SCENARIOS):
        with open(REPORT, "w") as f:
            f.write(markdown(header, body))
        print(f"wrote {REPORT}", file=sys.stderr)


# The figures the lean work started from (release build as then: dynamic and static stdlib, full
# Foundation), kept here so that every report shows before beside now.
LEAN_BEFORE = [
    ("daemon start → READY=1, nothing pending", "3.62× psql dynamic, 2.78× static (dbmate 1.89×)", "≤ 1.5×"),
    ("`schemagate migrate`, nothing pending", "3.25× psql dynamic, 2.38× static", "≤ 1.3×"),
    ("idle daemon RSS after ready", "38.78 MiB dynamic, 35.81 MiB static (dbmate 22.4, psql 9.3)", "≤ 16 MiB"),
    ("binary size, stripped", "124.72 MiB unstripped static (stripped not measured then)", "≤ 25 MB"),
    ("`schemagate migrate`, 200 small migrations", "1.87 s against dbmate's 1.09 s: 1.72×", "≤ dbmate"),
    ("`schemagate migrate`s at once", "2.8 s against dbmate --migration-lock's 1.78 s: 1.57×", "≤ dbmate"),
]


def lean_table():
    """Before (LEAN_BEFORE) and now (this run's rows) for each lean target."""
    out = ["", "## Lean: before and now", "", "| figure | before | now | target | met |", "| --- | --- | --- | --- | --- |"]
    for prefix, before, target in LEAN_BEFORE:
        for scenario, figure, values, unit, floor, _, met in rows:
            if prefix in figure and not figure.startswith("peer"):
                now = fmt(values, unit) + (f", {ratio(values, floor):.2f}× its floor" if floor else "")
                out.append(f"| {figure} | {before} | {now} | {target} | {'' if met is None else ('yes' if met else 'MISSED')} |")
    return out


def markdown(header, body):
    lines = [
        "# Benchmarks",
        "",
        "Written by `scripts/bench` (do not edit by hand; run it again). Each figure is wall-clock time",
        "on the machine below, as the median with min–max over repeated runs, beside a floor measured",
        "in the same run against the same throwaway PostgreSQL, and their ratio. Tests never assert",
        "timings; `scripts/bench --quick` is the smoke CI runs (debug build, fewer runs, no report).",
        "",
    ]
    lines += [f"- {line}" for line in machine()]
    lines += ["", "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in body]
    lines += lean_table()
    notes = os.environ.get("NOTES_FILE")
    if notes and os.path.exists(notes):
        lines += ["", open(notes).read().rstrip()]
    return "\n".join(lines) + "\n"


main()
