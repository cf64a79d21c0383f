import Digest

/// The checksum recorded for an applied migration: SHA-256 of the file's exact bytes, lowercase hex.
public enum Checksum {
    /// Hashes the bytes where they lie (a large file is not copied for it).
    public static func sha256<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var hasher = SHA256()
        let hashedInPlace = bytes.withContiguousStorageIfAvailable { hasher.update(UnsafeRawBufferPointer($0)) } != nil
        if !hashedInPlace { Array(bytes).withUnsafeBytes { hasher.update($0) } }
        return hasher.finalize().map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
