// A bounded FIFO of 16-bit PCM samples between two threads: the hardware's
// audio callbacks write and read buffers of any size, the engine pulls and
// pushes 10 ms frames (480 samples at 48 kHz). Platform-independent, so it
// is tested on Linux; Apple/VoiceAudioDevice.swift uses one per direction.
//
// When full, the oldest samples are dropped (latency stays bounded); when a
// reader asks for more than there is, it gets silence for the rest.

import Foundation

public final class PCMRing: @unchecked Sendable { // every access holds `lock`
    /// 10 ms at 48 kHz.
    public static let frameSamples = 480

    private let lock = NSLock()
    private var storage: [Int16]
    private var start = 0
    private var count = 0

    /// - Parameter capacity: most samples kept (the newest win).
    public init(capacity: Int) {
        storage = Array(repeating: 0, count: max(capacity, Self.frameSamples))
    }

    public var available: Int { lock.locked { count } }

    public func write(_ samples: UnsafeBufferPointer<Int16>) {
        lock.locked {
            for sample in samples {
                if count == storage.count { // full: drop the oldest
                    start = (start + 1) % storage.count
                    count -= 1
                }
                storage[(start + count) % storage.count] = sample
                count += 1
            }
        }
    }

    public func write(_ samples: [Int16]) {
        samples.withUnsafeBufferPointer { write($0) }
    }

    /// Fill `out` from the oldest samples; zeros where there are none.
    public func read(into out: UnsafeMutableBufferPointer<Int16>) {
        lock.locked {
            let n = min(out.count, count)
            for i in 0..<n { out[i] = storage[(start + i) % storage.count] }
            for i in n..<out.count { out[i] = 0 }
            start = (start + n) % storage.count
            count -= n
        }
    }

    /// Write float samples (-1...1, as Core Audio's standard format has them).
    public func write(floats: UnsafeBufferPointer<Float>) {
        lock.locked {
            for value in floats {
                if count == storage.count {
                    start = (start + 1) % storage.count
                    count -= 1
                }
                storage[(start + count) % storage.count] = Int16(max(-1, min(1, value)) * 32_767)
                count += 1
            }
        }
    }

    /// Fill `out` with float samples; silence where there are none.
    public func read(floats out: UnsafeMutableBufferPointer<Float>) {
        lock.locked {
            let n = min(out.count, count)
            for i in 0..<n { out[i] = Float(storage[(start + i) % storage.count]) / 32_768 }
            for i in n..<out.count { out[i] = 0 }
            start = (start + n) % storage.count
            count -= n
        }
    }

    /// The next whole 10 ms frame, or nil while fewer than 480 samples wait
    /// (the engine then sends silence for that interval).
    public func readFrame() -> [Int16]? {
        lock.locked {
            guard count >= Self.frameSamples else { return nil }
            var frame = [Int16](repeating: 0, count: Self.frameSamples)
            for i in 0..<Self.frameSamples { frame[i] = storage[(start + i) % storage.count] }
            start = (start + Self.frameSamples) % storage.count
            count -= Self.frameSamples
            return frame
        }
    }

    public func clear() {
        lock.locked {
            start = 0
            count = 0
        }
    }
}
