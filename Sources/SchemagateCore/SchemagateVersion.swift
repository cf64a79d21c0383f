/// The release this binary was built from. `schemagate --version`, `/status` and bug reports
/// name it; scripts/package takes the .deb's version from it, so the two cannot disagree.
public enum SchemagateVersion {
    public static let current = "0.2.0"
}
