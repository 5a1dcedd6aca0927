// The camera for the engine: an AVCaptureSession whose video data output
// delivers NV12 pixel buffers (420YpCbCr8BiPlanarFullRange, both planes with
// their bytes-per-row as strides), kept as the newest CapturedFrame for the
// engine's VideoSource to pull. Front/back switching, and each frame's
// rotation from the device's orientation (the pixels stay as the sensor gives
// them; receivers rotate).
//
// NOT COMPILED ON THE LINUX BUILD MACHINE: AVFoundation's capture and UIKit
// exist only on Apple's systems, so this file compiles to nothing there
// (#if below). It was written against Apple's documented API and checked only
// for syntax.

#if os(iOS) && canImport(AVFoundation) && canImport(UIKit)
import AVFoundation
import HotlineSDK
import UIKit

public final class CameraCapture: NSObject, VideoSource, @unchecked Sendable { // state behind `lock`, or on `queue`
    private let session = AVCaptureSession()
    private let output = AVCaptureVideoDataOutput()
    private let queue = DispatchQueue(label: "io.hotline.camera")
    private let lock = NSLock()
    private var latest: CapturedFrame?
    private var usingFront = true
    private var deviceOrientation = UIDeviceOrientation.portrait
    private var orientationObserver: NSObjectProtocol?

    public override init() {
        super.init()
        output.videoSettings = [kCVPixelBufferPixelFormatTypeKey as String: kCVPixelFormatType_420YpCbCr8BiPlanarFullRange]
        output.alwaysDiscardsLateVideoFrames = true
        output.setSampleBufferDelegate(self, queue: queue)
        session.sessionPreset = .hd1280x720
        if session.canAddOutput(output) { session.addOutput(output) }
    }

    /// Start capturing from `camera` (the engine's openCamera / switchCamera).
    @MainActor
    public func start(_ camera: Camera) {
        UIDevice.current.beginGeneratingDeviceOrientationNotifications()
        updateOrientation()
        if orientationObserver == nil {
            orientationObserver = NotificationCenter.default.addObserver(
                forName: UIDevice.orientationDidChangeNotification, object: nil, queue: .main) { @Sendable [weak self] _ in
                MainActor.assumeIsolated { self?.updateOrientation() }
            }
        }
        let front = camera == .front
        queue.async { [self] in
            select(front: front)
            if !session.isRunning { session.startRunning() } // blocking: off the main thread
        }
    }

    /// Switch between the front and back cameras while capturing.
    @MainActor
    public func switchTo(_ camera: Camera) {
        let front = camera == .front
        queue.async { [self] in select(front: front) }
    }

    /// Stop capturing (the engine's closeCamera).
    @MainActor
    public func stop() {
        if let orientationObserver { NotificationCenter.default.removeObserver(orientationObserver) }
        orientationObserver = nil
        UIDevice.current.endGeneratingDeviceOrientationNotifications()
        queue.async { [self] in
            session.stopRunning()
            lock.locked { latest = nil }
        }
    }

    // MARK: VideoSource (the engine's video thread)

    public func readFrame() -> CapturedFrame? {
        lock.locked { latest }
    }

    // MARK: capture

    /// On `queue`.
    private func select(front: Bool) {
        let position: AVCaptureDevice.Position = front ? .front : .back
        guard let device = AVCaptureDevice.default(.builtInWideAngleCamera, for: .video, position: position),
              let input = try? AVCaptureDeviceInput(device: device) else { return }
        session.beginConfiguration()
        for old in session.inputs { session.removeInput(old) }
        if session.canAddInput(input) { session.addInput(input) }
        session.commitConfiguration()
        lock.locked { usingFront = front }
    }

    @MainActor
    private func updateOrientation() {
        let now = UIDevice.current.orientation
        guard now.isPortrait || now.isLandscape else { return } // face up/down: keep the last
        lock.locked { deviceOrientation = now }
    }

    /// Clockwise rotation that makes the sensor's picture upright, as
    /// WebRTC's iOS capturer computes it.
    private static func rotation(for orientation: UIDeviceOrientation, front: Bool) -> UInt32 {
        switch orientation {
        case .portraitUpsideDown: return 270
        case .landscapeLeft: return front ? 180 : 0
        case .landscapeRight: return front ? 0 : 180
        default: return 90
        }
    }
}

extension CameraCapture: AVCaptureVideoDataOutputSampleBufferDelegate {
    public func captureOutput(_ output: AVCaptureOutput, didOutput sampleBuffer: CMSampleBuffer,
                              from connection: AVCaptureConnection) {
        guard let pixels = CMSampleBufferGetImageBuffer(sampleBuffer),
              CVPixelBufferGetPlaneCount(pixels) == 2 else { return }
        CVPixelBufferLockBaseAddress(pixels, .readOnly)
        defer { CVPixelBufferUnlockBaseAddress(pixels, .readOnly) }
        let width = CVPixelBufferGetWidth(pixels), height = CVPixelBufferGetHeight(pixels)
        let strideY = CVPixelBufferGetBytesPerRowOfPlane(pixels, 0)
        let strideUV = CVPixelBufferGetBytesPerRowOfPlane(pixels, 1)
        guard let y = CVPixelBufferGetBaseAddressOfPlane(pixels, 0),
              let uv = CVPixelBufferGetBaseAddressOfPlane(pixels, 1) else { return }
        var data = Data(capacity: strideY * height + strideUV * height / 2)
        data.append(y.assumingMemoryBound(to: UInt8.self), count: strideY * height)
        data.append(uv.assumingMemoryBound(to: UInt8.self), count: strideUV * (height / 2))
        let seconds = CMTimeGetSeconds(CMSampleBufferGetPresentationTimeStamp(sampleBuffer))
        let (orientation, front) = lock.locked { (deviceOrientation, usingFront) }
        let frame = CapturedFrame(format: .nv12, width: UInt32(width & ~1), height: UInt32(height & ~1), data: data,
                                  strideY: UInt32(strideY), strideUv: UInt32(strideUV),
                                  rotation: Self.rotation(for: orientation, front: front),
                                  timestampUs: Int64(seconds * 1_000_000))
        lock.locked { latest = frame }
    }
}
#endif
