/// The `--release` label a daemon registers in the fleet. It is printed in status lines and journal
/// messages, so it must be one short printable line.
public enum ReleaseLabel {
    public static let maximumBytes = 200

    /// The label when `--release` is not given: the folder's highest version.
    public static func fallback(for folder: MigrationFolder) -> String {
        String(folder.highestVersion ?? 0)
    }

    /// nil when `label` is usable; otherwise what is wrong with it, for a usage error (exit 2).
    public static func problem(with label: String) -> String? {
        if label.isEmpty { return "--release must not be empty" }
        if label.utf8.count > maximumBytes {
            return "--release is \(label.utf8.count) bytes long; use at most \(maximumBytes)"
        }
        if label.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            return "--release contains a control character; use printable text"
        }
        return nil
    }
}
