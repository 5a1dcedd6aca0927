// The decision tables that need no engine: end reasons, call UUIDs, tokens,
// the CallKit region policy and the audio gate.

import Foundation
import HotlineSDK
@testable import HotlineShell
import XCTest

final class MappingTests: XCTestCase {
    func testEngineEndReasons() {
        let table: [(EndReason, CallEndedReason)] = [
            (.hangup, .remoteEnded), (.reject, .remoteEnded), (.canceled, .remoteEnded),
            (.noResponse, .unanswered), (.lineBusy, .unanswered), (.offline, .unanswered),
            (.otherDeviceAccepted, .answeredElsewhere), (.otherDeviceReject, .declinedElsewhere),
            (.endByServer, .failed), (.unknown, .failed),
        ]
        for (engine, shown) in table {
            XCTAssertEqual(CallEndedReason(engine), shown, "\(engine)")
        }
    }

    func testCancelPushReasons() {
        XCTAssertEqual(CallEndedReason(PushCancelReason.canceled), .remoteEnded)
        XCTAssertEqual(CallEndedReason(PushCancelReason.noResponse), .unanswered)
        XCTAssertEqual(CallEndedReason(PushCancelReason.answeredElsewhere), .answeredElsewhere)
        XCTAssertEqual(CallEndedReason(PushCancelReason.rejectedElsewhere), .declinedElsewhere)
    }

    func testCallUUIDs() {
        let hex = "b0162e2c817236dd331b31e9f57c1027"
        XCTAssertEqual(CallUUID.forCallId(hex).uuidString, "B0162E2C-8172-36DD-331B-31E9F57C1027")
        XCTAssertEqual(CallUUID.forCallId(hex.uppercased()), CallUUID.forCallId(hex))
        let other = CallUUID.forCallId("call-7")
        XCTAssertEqual(other, CallUUID.forCallId("call-7"))
        XCTAssertNotEqual(other, CallUUID.forCallId("call-8"))
        XCTAssertEqual(Array(other.uuidString)[14], "8") // version 8
    }

    func testTokenHex() {
        XCTAssertEqual(PushTokenTarget.hex(Data([0x00, 0xab, 0x10, 0xff])), "00ab10ff")
    }

    func testCallKitRegions() {
        XCTAssertFalse(CallKitPolicy.callKitAllowed(regionCode: "CN"))
        XCTAssertFalse(CallKitPolicy.callKitAllowed(regionCode: "cn"))
        XCTAssertTrue(CallKitPolicy.callKitAllowed(regionCode: "HK"))
        XCTAssertTrue(CallKitPolicy.callKitAllowed(regionCode: "US"))
        XCTAssertTrue(CallKitPolicy.callKitAllowed(regionCode: nil))
    }

    func testAudioRunsOnlyWithAnActiveSessionAndAConnectedCall() {
        var gate = AudioGate()
        gate.callConnected = true
        XCTAssertFalse(gate.shouldRun, "connected, session not active")
        gate.sessionActive = true
        XCTAssertTrue(gate.shouldRun)
        gate.onHold = true
        XCTAssertFalse(gate.shouldRun, "on hold")
        gate.onHold = false
        gate.callConnected = false
        XCTAssertFalse(gate.shouldRun, "session active, no call")
    }
}
