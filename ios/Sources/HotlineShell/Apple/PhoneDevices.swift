// The engine's device requests (DeviceDelegate), carried out with the
// phone's camera, audio route and video views. The engine calls them on its
// own threads; each hops to the main actor.
//
// NOT COMPILED ON THE LINUX BUILD MACHINE: it uses UIKit and AVFoundation
// through CameraCapture, VoiceAudioDevice and VideoRenderView, which exist
// only on Apple's systems, so this file compiles to nothing there (#if
// below). It was checked only for syntax.

#if os(iOS) && canImport(AVFoundation) && canImport(UIKit) && canImport(AVKit)
import HotlineSDK
import UIKit

@MainActor
public final class PhoneDevices {
    public let camera = CameraCapture()
    public let audio: VoiceAudioDevice
    /// The views by user ID ("" is the local preview), for their render parameters.
    private var views: [String: VideoRenderView] = [:]
    private var renderParams: [String: VideoRenderParams] = [:]

    /// Plugs the camera, microphone and speaker into `engine`.
    public init(engine: HotlineEngine) {
        audio = VoiceAudioDevice(engine: engine)
        engine.setVideoSource(source: camera)
        engine.setDeviceDelegate(delegate: Delegate(devices: self))
    }

    /// Show `userId`'s video ("" for the local preview) in `view`.
    public func attach(_ view: VideoRenderView, for userId: String) {
        views[userId] = view
        if let params = renderParams[userId] { view.apply(params) }
    }

    public func detach(userId: String) {
        views[userId] = nil
    }

    fileprivate func setRenderParams(_ params: VideoRenderParams, for userId: String) {
        renderParams[userId] = params
        views[userId]?.apply(params)
    }

    /// Forwards each request to the main actor, in order. (`devices` is set
    /// once, in init, hence @unchecked.)
    private final class Delegate: DeviceDelegate, @unchecked Sendable {
        private weak var devices: PhoneDevices?

        init(devices: PhoneDevices) {
            self.devices = devices
        }

        private func onMain(_ body: @escaping @MainActor (PhoneDevices) -> Void) {
            let devices = self.devices
            DispatchQueue.main.async {
                MainActor.assumeIsolated {
                    if let devices { body(devices) }
                }
            }
        }

        func openCamera(camera: Camera) { onMain { $0.camera.start(camera) } }
        func closeCamera() { onMain { $0.camera.stop() } }
        func switchCamera(camera: Camera) { onMain { $0.camera.switchTo(camera) } }
        // The microphone stays running while muted: the engine sends nothing
        // then, and unmuting is instant. The audio device follows the call.
        func openMicrophone() {}
        func closeMicrophone() {}
        func selectAudioPlaybackDevice(device: AudioPlaybackDevice) {
            onMain { $0.audio.route(to: device == .speakerphone ? .speaker : .receiver) }
        }
        func setVideoRenderParams(userId: String, params: VideoRenderParams) {
            onMain { $0.setRenderParams(params, for: userId) }
        }
    }
}
#endif
