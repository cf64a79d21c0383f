import Crypto

/// The checksum recorded for an applied migration: SHA-256 of the file's exact bytes, lowercase hex.
public enum Checksum {
    public static func sha256<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        SHA256.hash(data: Array(bytes)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
