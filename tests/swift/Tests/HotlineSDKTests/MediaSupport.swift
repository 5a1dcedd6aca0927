// Media written in Swift for the tests: a camera drawing numbered I420
// pictures, a tone, sinks that count and read what arrives, and a
// `hotline phone` process to call.

import Foundation
import XCTest
import HotlineSDK

/// The frame-number code of Hotline's synthetic video (rust/media/src/synthetic.rs):
/// two rows of 16 flat black or white cells in the top-left corner, which
/// survive H.264. `hotline phone` reads the numbers of the pictures a Swift
/// camera draws; the Swift sinks read those of the phone's camera.
enum FrameCode {
    static let white: UInt8 = 235
    static let black: UInt8 = 16

    static func cellSize(width: Int, height: Int) -> Int {
        let c = (min(width, height) * 16 / 360) / 8 * 8
        return max(min(min(max(c, 8), 64), width / 16 / 8 * 8), 8)
    }

    static func checkNibble(_ n: UInt32) -> UInt32 {
        var sum: UInt32 = 5
        for i: UInt32 in 0..<6 { sum += (n >> (4 * i)) & 0xF }
        return sum & 0xF
    }

    static func cells(_ number: UInt32) -> [Bool] {
        let n = number & 0xFF_FFFF
        var cells = [Bool](repeating: false, count: 32)
        cells[0] = true
        for i in 0..<14 { cells[2 + i] = (n >> (23 - UInt32(i))) & 1 == 1 }
        cells[17] = true
        for i in 0..<10 { cells[18 + i] = (n >> (9 - UInt32(i))) & 1 == 1 }
        let check = checkNibble(n)
        for i in 0..<4 { cells[28 + i] = (check >> (3 - UInt32(i))) & 1 == 1 }
        return cells
    }

    /// Draw `number` into a Y plane of `width` bytes per row (chroma under
    /// the cells must be neutral; the camera's is everywhere).
    static func draw(_ number: UInt32, into y: inout [UInt8], width: Int, height: Int) {
        let c = cellSize(width: width, height: height)
        for (i, isWhite) in cells(number).enumerated() {
            let (cx, cy) = ((i % 16) * c, (i / 16) * c)
            for row in cy..<(cy + c) {
                let start = row * width + cx
                for x in start..<(start + c) { y[x] = isWhite ? white : black }
            }
        }
    }

    /// The number in an I420 picture read in place, or nil if it carries none.
    static func read(_ pixels: UnsafeRawBufferPointer, width: Int, height: Int) -> UInt32? {
        let c = cellSize(width: width, height: height)
        guard c * 16 <= width, 2 * c <= height, pixels.count >= width * height else { return nil }
        var cells = [Bool](repeating: false, count: 32)
        for i in 0..<32 {
            let (cx, cy) = ((i % 16) * c, (i / 16) * c)
            var sum = 0, n = 0
            for row in (cy + c / 4)..<(cy + 3 * c / 4) {
                for x in (cx + c / 4)..<(cx + 3 * c / 4) {
                    sum += Int(pixels[row * width + x])
                    n += 1
                }
            }
            cells[i] = sum / n > 126
        }
        var n: UInt32 = 0
        for i in 0..<14 { n = (n << 1) | (cells[2 + i] ? 1 : 0) }
        for i in 0..<10 { n = (n << 1) | (cells[18 + i] ? 1 : 0) }
        return self.cells(n) == cells ? n : nil
    }
}

func monotonicMicros() -> Int64 {
    Int64(DispatchTime.now().uptimeNanoseconds / 1000)
}

/// A camera written in Swift: 640x360 I420 pictures, a grey gradient with
/// the frame number drawn in, numbered 0, 1, 2, ... in pull order.
final class NumberedCamera: VideoSource, @unchecked Sendable {
    let width = 640, height = 360
    private let lock = NSLock()
    private var base: [UInt8]
    private var number: UInt32 = 0
    private var threads = Set<String>()

    init() {
        let (w, h) = (width, height)
        base = [UInt8](repeating: 128, count: w * h * 3 / 2)
        for row in 0..<h {
            for col in 0..<w { base[row * w + col] = UInt8(60 + (col + row) * 120 / (w + h)) }
        }
    }

    var pulls: UInt32 { lock.locked { number } }
    var pullThreads: Set<String> { lock.locked { threads } }

    func readFrame() -> CapturedFrame? {
        let n: UInt32 = lock.locked {
            threads.insert(currentThreadName())
            defer { number += 1 }
            return number
        }
        var pixels = base
        FrameCode.draw(n, into: &pixels, width: width, height: height)
        return CapturedFrame(format: .i420, width: UInt32(width), height: UInt32(height), data: Data(pixels),
                             timestampUs: monotonicMicros())
    }
}

/// A microphone from the layer's `ClosureAudioSource`: a sine tone, 480 samples a pull.
func toneSource(hz: Double, amplitude: Double = 0.3) -> ClosureAudioSource {
    let phase = Counter()
    return ClosureAudioSource {
        let start = phase.add(480) - 480
        let samples = (0..<480).map { i in
            Int16(amplitude * 32767 * sin(2 * Double.pi * hz * Double(start + Int64(i)) / 48_000))
        }
        return AudioFrame(samples: samples, timestampUs: start * 1_000_000 / 48_000)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n: Int64 = 0
    /// Adds `k`; returns the new value.
    @discardableResult func add(_ k: Int64 = 1) -> Int64 { lock.locked { n += k; return n } }
    var value: Int64 { lock.locked { n } }
}

/// A renderer written in Swift: counts frames and reads their numbers in
/// place through `FrameBuffer.withBytes`.
final class FrameReader: VideoSink, @unchecked Sendable {
    struct Seen: Sendable {
        var frames = 0, numbered = 0, badSizes = 0
        var width: UInt32 = 0, height: UInt32 = 0
        var firstNumber: UInt32?, lastNumber: UInt32?
        var outOfOrder = 0
        var threads = Set<String>()
    }
    private let lock = NSLock()
    private var state = Seen()

    var seen: Seen { lock.locked { state } }

    func onFrame(frame: VideoFrame) {
        let (w, h) = (Int(frame.width), Int(frame.height))
        let (size, number) = frame.i420.withBytes { ($0.count, FrameCode.read($0, width: w, height: h)) }
        let here = currentThreadName()
        lock.locked {
            state.frames += 1
            state.width = frame.width
            state.height = frame.height
            if size != w * h * 3 / 2 { state.badSizes += 1 }
            state.threads.insert(here)
            if let number {
                state.numbered += 1
                if let last = state.lastNumber, number <= last { state.outOfOrder += 1 }
                if state.firstNumber == nil { state.firstNumber = number }
                state.lastNumber = number
            }
        }
    }
}

/// A speaker from the layer's `ClosureAudioSink`: counts 10 ms frames and the loud ones.
final class AudioMeter: @unchecked Sendable {
    let frames = Counter(), loud = Counter(), badSizes = Counter()

    lazy var sink = ClosureAudioSink { [frames, loud, badSizes] frame in
        frames.add()
        if frame.samples.count != 480 { badSizes.add() }
        let energy = frame.samples.reduce(0.0) { $0 + Double($1) * Double($1) }
        if (energy / Double(max(frame.samples.count, 1))).squareRoot() > 1000 { loud.add() }
    }
}

/// One JSON line of `hotline phone`.
struct PhoneEvent: @unchecked Sendable, CustomStringConvertible {
    let fields: [String: Any]
    var name: String { fields["event"] as? String ?? "" }
    subscript(key: String) -> Any? { fields[key] }
    func string(_ key: String) -> String? { fields[key] as? String }
    func int(_ key: String) -> Int? { (fields[key] as? NSNumber)?.intValue }
    var description: String { "\(fields)" }
}

/// A `hotline phone` process (the Rust engine with a synthetic camera and a
/// tone), which prints each event as a JSON line.
final class PhoneProcess: @unchecked Sendable {
    let userId: String
    private let process = Process()
    private let lock = NSLock()
    private var events: [PhoneEvent] = []
    private var pending = Data()
    private var stderrTail: [String] = []

    init(_ name: String, _ args: [String]) throws {
        userId = uid(name)
        process.executableURL = URL(fileURLWithPath: Env.hotlineBin)
        // The secret key comes from the environment (HOTLINE_SECRET_KEY), not argv.
        process.arguments = ["phone", "--server", Env.serverUrl, "--sdk-app-id", String(Env.sdkAppId),
                             "--user-id", userId] + args
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        out.fileHandleForReading.readabilityHandler = { [weak self] h in
            let data = h.availableData
            if data.isEmpty { h.readabilityHandler = nil } else { self?.take(stdout: data) }
        }
        err.fileHandleForReading.readabilityHandler = { [weak self] h in
            let data = h.availableData
            if data.isEmpty { h.readabilityHandler = nil } else { self?.take(stderr: data) }
        }
        // Swift concurrency's threads block most signals, and a child
        // inherits the mask of the thread that spawns it: the phone would
        // never see SIGTERM. Spawn from a thread with every signal unblocked.
        let launched = DispatchSemaphore(value: 0)
        let failure = LockedLines<String>()
        let process = self.process
        let launcher = Thread {
            var none = sigset_t()
            sigemptyset(&none)
            pthread_sigmask(SIG_SETMASK, &none, nil)
            do { try process.run() } catch { failure.append("\(error)") }
            launched.signal()
        }
        launcher.start()
        launched.wait()
        if let error = failure.all.first {
            throw WaitTimeout(description: "cannot start \(Env.hotlineBin) phone: \(error)")
        }
    }

    private func take(stdout data: Data) {
        lock.locked {
            pending.append(data)
            while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = pending[pending.startIndex..<nl]
                pending.removeSubrange(pending.startIndex...nl)
                if let obj = try? JSONSerialization.jsonObject(with: line) as? [String: Any] {
                    events.append(PhoneEvent(fields: obj))
                }
            }
        }
    }

    private func take(stderr data: Data) {
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
        lock.locked { stderrTail = Array((stderrTail + lines).suffix(15)) }
    }

    var all: [PhoneEvent] { lock.locked { events } }

    /// The first event named `name` matching `match`, seen so far or within `seconds`.
    @discardableResult
    func event(_ name: String, seconds: Double = 30, where match: (PhoneEvent) -> Bool = { _ in true }) async throws -> PhoneEvent {
        var found: PhoneEvent?
        do {
            try await until("phone \(userId): \(name)", seconds: seconds) {
                found = all.first { $0.name == name && match($0) }
                if found == nil && !process.isRunning && lock.locked({ pending.isEmpty }) {
                    throw WaitTimeout(description: "phone \(userId) exited (status \(process.terminationStatus)) without \(name)")
                }
                return found != nil
            }
        } catch let e as WaitTimeout {
            let tail = lock.locked { stderrTail.joined(separator: "\n  ") }
            throw WaitTimeout(description: "\(e.description); its events: \(all.map(\.name)); its stderr ends:\n  \(tail)")
        }
        return found!
    }

    /// Wait for the process to exit by itself; returns its status.
    func exitStatus(seconds: Double = 30) async throws -> Int32 {
        try await until("phone \(userId) to exit", seconds: seconds) { !process.isRunning }
        return process.terminationStatus
    }

    /// SIGTERM (the phone leaves its call and logs out), then SIGKILL if it lingers.
    func stop() async {
        guard process.isRunning else { return }
        process.terminate()
        do {
            try await until("phone to exit", seconds: 10) { !process.isRunning }
        } catch {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
