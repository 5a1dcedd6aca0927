// Where the coordinator registers push tokens: the app's bundle ID and the
// APNs environment its build talks to.

import Foundation
import HotlineSDK

public struct PushTokenTarget: Sendable, Equatable {
    /// The bundle ID (the server pushes VoIP to `<app>.voip`).
    public var app: String
    /// `.sandbox` for builds run from Xcode, `.production` for TestFlight and the App Store.
    public var environment: PushEnvironment

    public init(app: String, environment: PushEnvironment) {
        self.app = app
        self.environment = environment
    }

    /// An APNs token as the server expects it: lowercase hex.
    public static func hex(_ token: Data) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(token.count * 2)
        for byte in token {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
