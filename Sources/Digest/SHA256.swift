import CCrypto

/// SHA-256 from OpenSSL's libcrypto, fed in pieces. libpq already links libcrypto, so this costs
/// the process no library of its own (swift-crypto brought a second copy, BoringSSL, 3 MB), and
/// OpenSSL's hashing uses the CPU's SHA extensions where it has them.
public struct SHA256: ~Copyable {
    private let context: OpaquePointer

    public init() {
        // Allocation and initialisation only fail when memory is exhausted.
        guard let context = EVP_MD_CTX_new(), EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else {
            fatalError("OpenSSL could not set up a SHA-256 context")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    /// The 32-byte digest; the hasher is used up.
    public consuming func finalize() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = digest.withUnsafeMutableBufferPointer { EVP_DigestFinal_ex(context, $0.baseAddress, &length) }
        return digest
    }
}
