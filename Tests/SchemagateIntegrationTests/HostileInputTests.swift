import Foundation
import PostgresHarness
import Testing

/// Input an attacker or a slip of the hand could give: numbers out of range, passwords inside
/// malformed URLs, hand-edited settings rows. One clear line, a distinct code, nothing changed,
/// nothing secret shown.
@Suite("hostile input")
struct HostileInputTests {
    /// Every way a malformed URL reaches schemagate (flag, environment, credential file) fails
    /// with a usage error that names the URL but never shows the password.
    @Test func malformedURLsNeverShowThePassword() async throws {
        let folder = try auditFolder(count: 1)
        let credentials = NSTemporaryDirectory() + "sg-credentials-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: true)
        let urls = [
            "postgresql://app:Leak%zzPW@localhost/db",
            "postgresql://app:Leak%00PW@localhost/db",
            "host=localhost password=LeakPW dbname",
            "host=localhost dbname=x LeakPW",
            "host=localhost password='LeakPW",
            "postgresql://app:LeakPW@[::1/db",
            "postgresql://app:LeakPW@localhost/db?sslmode=require&LeakPW",
        ]
        for url in urls {
            try url.write(toFile: credentials + "/database-url", atomically: true, encoding: .utf8)
            let runs = await [
                try schemagate(["migrate", "--database-url", url, "--migrations", folder]),
                try schemagate(["migrate", "--migrations", folder], environment: ["SCHEMAGATE_DATABASE_URL": url]),
                try schemagate(["migrate", "--migrations", folder], environment: ["CREDENTIALS_DIRECTORY": credentials]),
                try schemagate(["plan", "--database-url", url, "--migrations", folder]),
            ]
            for result in runs {
                #expect(result.status == 2, "\(url): \(result.all)")
                #expect(!result.all.contains("LeakPW") && !result.all.contains("Leak%"), "\(url) leaked: \(result.all)")
                #expect(result.stderr.contains("--database-url: invalid connection string"), "\(url): \(result.stderr)")
            }
        }
        // What libpq's message says of an option name is kept, so the error still helps.
        let unknown = try await schemagate(["migrate", "--database-url", "host=localhost colour=blue", "--migrations", folder])
        #expect(unknown.stderr.contains("invalid connection option \"colour\"") || unknown.stderr.contains("\"…\""), "\(unknown.stderr)")
    }

    @Test func leasesTooShortOrTooLongAreUsageErrors() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 1)
        let before = try await database.fingerprint()
        for lease in ["0s", "0", "500ms", "999ms"] {
            let result = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--lease", lease])
            #expect(result.status == 2, "--lease \(lease): \(result.all)")
            #expect(result.stderr.contains("--lease") && result.stderr.contains("too short"), "\(result.stderr)")
        }
        // PostgreSQL takes these as timeouts in whole milliseconds, up to about 596 h: a longer
        // one used to be refused by the server only after "applying …" (exit 2, lock row left).
        for (option, value, words) in [("--lease", "8000h", "too long"), ("--ddl-lock-timeout", "8000h", "out of range"),
                                       ("--ddl-lock-timeout", "0s", "out of range")] {
            let result = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder, option, value])
            #expect(result.status == 2, "\(option) \(value): \(result.all)")
            #expect(result.stderr.contains(option) && result.stderr.contains(words), "\(result.stderr)")
            #expect(!result.stderr.contains("applying"), "\(result.stderr)")
        }
        // A daemon whose watch would query without pause, or whose socket would close every
        // connection at once, is refused before it connects.
        for (option, value) in [("--watch-interval", "0s"), ("--client-timeout", "0s"), ("--client-timeout", "2h")] {
            let result = try await schemagate(["daemon", "--database-url", database.url, "--migrations", folder, option, value])
            #expect(result.status == 2, "\(option) \(value): \(result.all)")
            #expect(result.stderr.contains("\(option) '") && result.stderr.contains("out of range"), "\(result.stderr)")
        }
        for (option, value) in [("--lease", "99999999999999999"), ("--lock-wait", "1e400"), ("--ddl-lock-timeout", "9999999999h")] {
            let result = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder, option, value])
            #expect(result.status == 2, "\(option) \(value): \(result.all)")
            #expect(result.stderr.contains("\(option) '\(value)': not a duration"), "\(result.stderr)")
        }
        #expect(try await database.fingerprint() == before)
    }

    /// A settings row edited by hand is named, with what is wrong and what to do; nothing is
    /// applied over it.
    @Test func handEditedRecordsAreNamedNotMisread() async throws {
        let database = try await TestDatabase()
        let folder = try auditFolder(count: 2)
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder, "--target", "1"]).status == 0)
        let cases: [(record: String, says: String)] = [
            (#"{"version": -3}"#, "the version is negative"),
            (#"{"version": 2.5}"#, "not a whole number"),
            (#"{"version": 1e30}"#, "not a whole number"),
            (#"{"version": "two"}"#, "\"version\" is not a whole number"),
            (#"{"dirty": null}"#, "no \"version\" field"),
        ]
        for (record, says) in cases {
            try await database.sql("UPDATE schemagate_settings SET value = '\(record)' WHERE key = 'schema_version'")
            let before = try await database.fingerprint()
            for command in ["migrate", "plan"] {
                let result = try await schemagate([command, "--database-url", database.url, "--migrations", folder])
                #expect(result.status == 65, "\(record) \(command): \(result.all)")
                #expect(result.stderr.contains("schema_version in \"public\".\"schemagate_settings\"") && result.stderr.contains(says),
                        "\(record): \(result.stderr)")
                #expect(!result.stderr.contains("not valid JSON") || says == "not valid JSON", "\(result.stderr)")
            }
            #expect(try await database.fingerprint() == before)
        }
    }

    /// `unlock` can break a lock record it cannot read, and one whose numbers are absurd.
    @Test func unlockBreaksGarbageAndAbsurdLockRecords() async throws {
        let database = try await TestDatabase()
        #expect(try await schemagate(["migrate", "--database-url", database.url, "--migrations", try auditFolder(count: 1)]).status == 0)
        try await database.sql(#"INSERT INTO schemagate_settings VALUES ('migration_lock', '{"owner": 7}')"#)
        let refused = try await schemagate(["unlock", "--database-url", database.url])
        #expect(refused.status == 65, "\(refused.all)")
        #expect(refused.stderr.contains("migration_lock") && refused.stderr.contains("unlock --force"), "\(refused.stderr)")
        let forced = try await schemagate(["unlock", "--force", "--database-url", database.url])
        #expect(forced.status == 0, "\(forced.all)")
        #expect(try await database.sql("SELECT count(*) FROM schemagate_settings WHERE key = 'migration_lock'") == "0")

        try await database.sql("""
        INSERT INTO schemagate_settings VALUES ('migration_lock', jsonb_build_object('owner', 'x', 'host', 'h', 'pid', 1,
          'taken_at', -1e300, 'expires_at', 1e300, 'session_visible', false))
        """)
        let alive = try await schemagate(["unlock", "--database-url", database.url])
        #expect(alive.status == 73, "\(alive.all)")
        #expect(alive.stderr.contains("looks alive"), "\(alive.stderr)")
        #expect(try await schemagate(["unlock", "--force", "--database-url", database.url]).status == 0)
        #expect(try await database.sql("SELECT count(*) FROM schemagate_settings WHERE key = 'migration_lock'") == "0")
    }
}
