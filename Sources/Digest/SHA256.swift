import CCrypto

/// SHA-256 from OpenSSL's libcrypto, fed in pieces. libpq already links libcrypto, so this costs
/// the process no library of its own (swift-crypto brought a second copy, BoringSSL, 3 MB), and
/// OpenSSL's hashing uses the CPU's SHA extensions where it has them. Its low-level interface,
/// not EVP: see CCrypto's shim for why.
public struct SHA256: ~Copyable {
    private var context = SHA256_CTX()

    public init() {
        // SHA256_Init only sets the initial hash values; it cannot fail.
        SHA256_Init(&context)
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        SHA256_Update(&context, base, bytes.count)
    }

    /// The 32-byte digest; the hasher is used up.
    public consuming func finalize() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        _ = digest.withUnsafeMutableBufferPointer { SHA256_Final($0.baseAddress, &context) }
        return digest
    }
}
