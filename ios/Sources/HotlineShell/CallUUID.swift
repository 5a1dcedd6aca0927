// CallKit names calls by UUID, Hotline by call ID. A pushed call's UUID is
// derived from its call ID, so that the ring push, a duplicate of it, its
// cancel push and the engine's onCallReceived all name the same CallKit call,
// even across an app relaunch between them.

import Foundation

public enum CallUUID {
    /// The UUID CallKit knows a call ID by. The server's call IDs are 32 hex
    /// digits (128 bits): they are the UUID's bytes. Any other ID is hashed
    /// (two 64-bit FNV-1a passes) into a version 8 UUID; equal IDs always
    /// give equal UUIDs.
    public static func forCallId(_ callId: String) -> UUID {
        let hex = Array(callId.utf8)
        if hex.count == 32, let bytes = hexBytes(hex) {
            return uuid(bytes)
        }
        let a = fnv1a(callId, basis: 0xcbf2_9ce4_8422_2325)
        let b = fnv1a(callId, basis: 0x8422_2325_cbf2_9ce4)
        var bytes = withUnsafeBytes(of: a.bigEndian, Array.init) + withUnsafeBytes(of: b.bigEndian, Array.init)
        bytes[6] = (bytes[6] & 0x0F) | 0x80 // version 8: custom
        bytes[8] = (bytes[8] & 0x3F) | 0x80 // RFC 4122 variant
        return uuid(bytes)
    }

    private static func hexBytes(_ hex: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(16)
        var i = 0
        while i < hex.count {
            guard let hi = nibble(hex[i]), let lo = nibble(hex[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private static func fnv1a(_ s: String, basis: UInt64) -> UInt64 {
        var h = basis
        for byte in s.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01B3
        }
        return h
    }

    private static func uuid(_ b: [UInt8]) -> UUID {
        UUID(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                    b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
    }
}
