// The phone's audio for the engine: AVAudioSession for calls, and an
// AVAudioEngine with Apple's voice processing (echo cancellation, noise
// suppression, gain control) that moves 48 kHz mono PCM between the hardware
// and the engine's AudioSource / AudioSink in 10 ms frames, through one
// PCMRing per direction. Routes: receiver, speaker, Bluetooth.
//
// The coordinator starts it only while CallKit has the session active
// (CallAudio.startAudio after didActivate).
//
// NOT COMPILED ON THE LINUX BUILD MACHINE: AVFoundation's audio session
// exists only on Apple's systems, so this file compiles to nothing there
// (#if below). It was written against Apple's documented API and checked only
// for syntax.

#if os(iOS) && canImport(AVFoundation)
import AVFoundation
import HotlineSDK

/// Where the call's sound goes.
public enum AudioRoute: Sendable, Equatable {
    case receiver
    case speaker
    case bluetooth
}

@MainActor
public final class VoiceAudioDevice: CallAudio {
    private let session = AVAudioSession.sharedInstance()
    private let audioEngine = AVAudioEngine()
    /// Microphone → engine, and engine → speaker: at most 200 ms each.
    private let captured = PCMRing(capacity: 9_600)
    private let playback = PCMRing(capacity: 9_600)
    private var sourceNode: AVAudioSourceNode?
    private var running = false

    /// Plugs the rings into `engine`: its audio source pulls the microphone's
    /// frames, its playback sink (everyone's mix) feeds the speaker.
    public init(engine: HotlineEngine) {
        engine.setAudioSource(source: ClosureAudioSource { [captured] in
            captured.readFrame().map { AudioFrame(samples: $0, timestampUs: 0) }
        })
        engine.setAudioPlaybackSink(sink: ClosureAudioSink { [playback] frame in
            playback.write(frame.samples)
        })
    }

    // MARK: CallAudio

    public func configureSession() {
        do {
            try session.setCategory(.playAndRecord, mode: .voiceChat, options: [.allowBluetooth])
            try session.setPreferredSampleRate(48_000)
            try session.setPreferredIOBufferDuration(0.01)
        } catch {
            print("Hotline audio: session setup failed: \(error)")
        }
    }

    public func activateSession() throws {
        try session.setActive(true)
    }

    public func deactivateSession() {
        try? session.setActive(false, options: .notifyOthersOnDeactivation)
    }

    public func startAudio() {
        guard !running else { return }
        do {
            let input = audioEngine.inputNode
            try input.setVoiceProcessingEnabled(true) // before the engine starts; covers output too
            let hardware = input.outputFormat(forBus: 0)
            // Core Audio's standard format (float, one channel) at the engine's rate.
            let mono48k = AVAudioFormat(standardFormatWithSampleRate: 48_000, channels: 1)!
            guard let converter = AVAudioConverter(from: hardware, to: mono48k) else {
                print("Hotline audio: no converter from \(hardware)")
                return
            }
            input.installTap(onBus: 0, bufferSize: 480, format: hardware,
                             block: Self.captureTap(converter: converter, format: mono48k, ring: captured))
            let source = AVAudioSourceNode(format: mono48k, renderBlock: Self.playbackRender(ring: playback))
            audioEngine.attach(source)
            audioEngine.connect(source, to: audioEngine.mainMixerNode, format: mono48k)
            sourceNode = source
            captured.clear()
            playback.clear()
            audioEngine.prepare()
            try audioEngine.start()
            running = true
        } catch {
            print("Hotline audio: start failed: \(error)")
            stopAudio()
        }
    }

    public func stopAudio() {
        audioEngine.stop()
        audioEngine.inputNode.removeTap(onBus: 0)
        if let sourceNode {
            audioEngine.detach(sourceNode)
            self.sourceNode = nil
        }
        running = false
    }

    // MARK: routes

    /// Send the call's sound to the receiver, the speaker or a Bluetooth
    /// headset (its microphone too).
    public func route(to route: AudioRoute) {
        do {
            switch route {
            case .speaker:
                try session.overrideOutputAudioPort(.speaker)
            case .receiver:
                try session.overrideOutputAudioPort(.none)
                if let builtIn = session.availableInputs?.first(where: { $0.portType == .builtInMic }) {
                    try session.setPreferredInput(builtIn)
                }
            case .bluetooth:
                try session.overrideOutputAudioPort(.none)
                if let headset = session.availableInputs?.first(where: { $0.portType == .bluetoothHFP }) {
                    try session.setPreferredInput(headset)
                }
            }
        } catch {
            print("Hotline audio: route \(route) failed: \(error)")
        }
    }

    /// Whether a Bluetooth headset is there to route to.
    public var bluetoothAvailable: Bool {
        session.availableInputs?.contains { $0.portType == .bluetoothHFP } ?? false
    }

    // MARK: the real-time blocks
    //
    // Made in nonisolated static functions so that they are not main-actor
    // closures: the hardware calls them on its own threads.

    private nonisolated static func captureTap(converter: AVAudioConverter, format: AVAudioFormat,
                                               ring: PCMRing) -> AVAudioNodeTapBlock {
        // Both are used only on the tap's thread, one buffer at a time.
        let tools = UncheckedSendable((converter: converter, format: format))
        return { buffer, _ in
            let (converter, format) = tools.value
            let ratio = format.sampleRate / buffer.format.sampleRate
            let capacity = AVAudioFrameCount(Double(buffer.frameLength) * ratio) + 16
            guard let out = AVAudioPCMBuffer(pcmFormat: format, frameCapacity: capacity) else { return }
            let input = UncheckedSendable(InputOnce(buffer))
            var error: NSError?
            converter.convert(to: out, error: &error) { _, status in input.value.next(status) }
            guard error == nil, let samples = out.floatChannelData?[0] else { return }
            ring.write(floats: UnsafeBufferPointer(start: samples, count: Int(out.frameLength)))
        }
    }

    private nonisolated static func playbackRender(ring: PCMRing) -> AVAudioSourceNodeRenderBlock {
        return { _, _, frameCount, audioBufferList in
            let buffers = UnsafeMutableAudioBufferListPointer(audioBufferList)
            guard let data = buffers.first?.mData?.assumingMemoryBound(to: Float.self) else { return noErr }
            ring.read(floats: UnsafeMutableBufferPointer(start: data, count: Int(frameCount)))
            return noErr
        }
    }
}

/// Hands the converter one tap buffer, then says there is no more for now.
private final class InputOnce {
    private var buffer: AVAudioPCMBuffer?

    init(_ buffer: AVAudioPCMBuffer) {
        self.buffer = buffer
    }

    func next(_ status: UnsafeMutablePointer<AVAudioConverterInputStatus>) -> AVAudioBuffer? {
        guard let buffer else {
            status.pointee = .noDataNow
            return nil
        }
        self.buffer = nil
        status.pointee = .haveData
        return buffer
    }
}
#endif
