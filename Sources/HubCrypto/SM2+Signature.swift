#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

extension SM2 {
    /// An SM2 signature: the pair (r, s) of 256-bit integers.
    ///
    /// Two encodings: ``derRepresentation``, the DER `SEQUENCE { r INTEGER, s INTEGER }` that OpenSSL and
    /// `openssl pkeyutl` read and write (70–72 bytes typically), and ``rawRepresentation``, the 64-byte
    /// big-endian r‖s form used by many Chinese banking interfaces.
    public struct Signature: Hashable, Sendable {
        /// The size of ``rawRepresentation`` (64).
        public static let rawByteCount = 64

        /// r‖s, 32 bytes each, big-endian.
        private let raw: [UInt8]

        /// Wraps a 64-byte r‖s signature.
        /// - Parameter rawRepresentation: r then s, 32 big-endian bytes each.
        /// - Throws: ``CryptoError`` `.invalidSignatureEncoding` when not 64 bytes or when r or s is zero.
        public init(rawRepresentation: some DataProtocol) throws {
            guard rawRepresentation.count == Self.rawByteCount else {
                throw CryptoError(
                    .invalidSignatureEncoding,
                    "a raw SM2 signature is 64 bytes (r‖s), got \(rawRepresentation.count)"
                )
            }
            let raw = [UInt8](rawRepresentation)
            guard raw[0..<32].contains(where: { $0 != 0 }), raw[32..<64].contains(where: { $0 != 0 }) else {
                throw CryptoError(.invalidSignatureEncoding, "a raw SM2 signature has r or s equal to zero")
            }
            self.raw = raw
        }

        /// Parses a DER `SEQUENCE { r INTEGER, s INTEGER }`, strictly: minimal lengths and integers, positive
        /// non-zero values of at most 256 bits, and nothing after the sequence.
        /// - Parameter derRepresentation: the DER bytes, as `openssl pkeyutl -sign` writes them.
        /// - Throws: ``CryptoError`` `.invalidSignatureEncoding` when the bytes are not such a sequence.
        public init(derRepresentation: some DataProtocol) throws {
            let der = [UInt8](derRepresentation)
            guard der.count >= 2, der[0] == 0x30, der[1] < 0x80, Int(der[1]) == der.count - 2 else {
                throw CryptoError(
                    .invalidSignatureEncoding,
                    "a DER SM2 signature must be one SEQUENCE with a short-form length and nothing after it"
                )
            }
            var index = 2
            let r = try Self.readInteger(der, &index)
            let s = try Self.readInteger(der, &index)
            guard index == der.count else {
                throw CryptoError(.invalidSignatureEncoding, "a DER SM2 signature has bytes after (r, s)")
            }
            self.raw = r + s
        }

        /// Reads one DER INTEGER holding 1...2^256-1 and returns it as 32 big-endian bytes.
        private static func readInteger(_ der: [UInt8], _ index: inout Int) throws -> [UInt8] {
            guard index + 2 <= der.count, der[index] == 0x02 else {
                throw CryptoError(.invalidSignatureEncoding, "a DER SM2 signature lacks an INTEGER for r or s")
            }
            let length = Int(der[index + 1])
            let start = index + 2
            guard length >= 1, length <= 33, start + length <= der.count else {
                throw CryptoError(.invalidSignatureEncoding, "a DER SM2 signature INTEGER has a bad length")
            }
            var value = der[start..<(start + length)]
            guard value[start] & 0x80 == 0 else {
                throw CryptoError(.invalidSignatureEncoding, "a DER SM2 signature INTEGER is negative")
            }
            if length > 1, value[start] == 0 {
                guard value[start + 1] & 0x80 != 0 else {
                    throw CryptoError(.invalidSignatureEncoding, "a DER SM2 signature INTEGER is not minimally encoded")
                }
                value = value.dropFirst()
            }
            guard value.count <= 32 else {
                throw CryptoError(.invalidSignatureEncoding, "a DER SM2 signature INTEGER is longer than 256 bits")
            }
            guard value.contains(where: { $0 != 0 }) else {
                throw CryptoError(.invalidSignatureEncoding, "a DER SM2 signature has r or s equal to zero")
            }
            index = start + length
            return [UInt8](repeating: 0, count: 32 - value.count) + value
        }

        /// The 64-byte r‖s form.
        public var rawRepresentation: Data {
            Data(self.raw)
        }

        /// The DER `SEQUENCE { r INTEGER, s INTEGER }` form.
        public var derRepresentation: Data {
            Data(self.derBytes)
        }

        var derBytes: [UInt8] {
            func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
                var value = Array(bytes.drop(while: { $0 == 0 }))
                if value.isEmpty {
                    value = [0]
                }
                if value[0] & 0x80 != 0 {
                    value.insert(0, at: 0)
                }
                return [0x02, UInt8(value.count)] + value
            }
            let body = integer(self.raw[0..<32]) + integer(self.raw[32..<64])
            return [0x30, UInt8(body.count)] + body
        }
    }
}
