import Testing
import ZakOpsCore

/// Token hashes and migration checksums depend on this exact text.
@Suite("Digest")
struct DigestTests {
    @Test("SHA-256 hex matches the FIPS 180-2 vectors, for text and for bytes")
    func vectors() {
        #expect(Digest.sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Digest.sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Digest.sha256Hex(Array("abc".utf8)) == Digest.sha256Hex("abc"))
        // A string that is not stored as UTF-8 contiguous bytes (bridged or a substring copy).
        #expect(Digest.sha256Hex(String("xabc".dropFirst())) == Digest.sha256Hex("abc"))
    }
}
