// The PCM ring between the hardware's buffers and the engine's 10 ms frames.

@testable import HotlineShell
import XCTest

final class PCMRingTests: XCTestCase {
    func testOddBuffersBecomeWholeFrames() {
        let ring = PCMRing(capacity: 4_800)
        ring.write((0..<300).map { Int16($0) })
        XCTAssertNil(ring.readFrame(), "not yet 10 ms")
        ring.write((300..<1_000).map { Int16($0) })
        XCTAssertEqual(ring.readFrame(), (0..<480).map { Int16($0) })
        XCTAssertEqual(ring.readFrame(), (480..<960).map { Int16($0) })
        XCTAssertNil(ring.readFrame())
        XCTAssertEqual(ring.available, 40)
    }

    func testAFullRingDropsTheOldestAndAnEmptyOneReadsSilence() {
        let ring = PCMRing(capacity: 480)
        ring.write((0..<600).map { Int16($0) })
        XCTAssertEqual(ring.readFrame(), (120..<600).map { Int16($0) })
        ring.write([7, 8])
        var out = [Int16](repeating: -1, count: 4)
        out.withUnsafeMutableBufferPointer { ring.read(into: $0) }
        XCTAssertEqual(out, [7, 8, 0, 0])
    }
}

extension PCMRingTests {
    func testFloatsRoundTripThroughSixteenBits() {
        let ring = PCMRing(capacity: 960)
        let input: [Float] = [0, 0.5, -0.5, 1, -1, 2]
        input.withUnsafeBufferPointer { ring.write(floats: $0) }
        var out = [Float](repeating: 9, count: 8)
        out.withUnsafeMutableBufferPointer { ring.read(floats: $0) }
        for (got, want) in zip(out, [0, 0.5, -0.5, 1, -1, 1, 0, 0] as [Float]) {
            XCTAssertEqual(got, want, accuracy: 0.001)
        }
    }
}
