// A view that shows one user's video from the engine: a VideoSink whose I420
// frames are copied into NV12 pixel buffers (a CVPixelBufferPool) and
// enqueued on an AVSampleBufferDisplayLayer, which scales them (fill: cover
// and crop; fit: whole picture with bars) and is rotated by each frame's own
// rotation plus the extra rotation of setVideoRenderParams. The remote view
// can go picture-in-picture (AVPictureInPictureController with a
// sample-buffer content source).
//
// Use: `engine.startRemoteView(userId: "bob", sink: view.sink)`, and
// `engine.startLocalView(sink: localView.sink)` for the camera's preview.
//
// NOT COMPILED ON THE LINUX BUILD MACHINE: UIKit, AVKit and Core Media exist
// only on Apple's systems, so this file compiles to nothing there (#if
// below). It was written against Apple's documented API and checked only for
// syntax.

#if os(iOS) && canImport(UIKit) && canImport(AVKit)
import AVFoundation
import AVKit
import CoreMedia
import CoreVideo
import HotlineSDK
import UIKit

public final class VideoRenderView: UIView {
    public override class var layerClass: AnyClass { AVSampleBufferDisplayLayer.self }
    private var displayLayer: AVSampleBufferDisplayLayer { layer as! AVSampleBufferDisplayLayer }
    private let renderer = FrameRenderer()
    private var frameRotation: UInt32 = 0
    private var extraRotation: UInt32 = 0
    private var pip: AVPictureInPictureController?
    private var pipSource: PictureInPictureSource?

    /// Hand this to `startRemoteView` / `startLocalView`.
    public private(set) lazy var sink: VideoSink = ClosureVideoSink { [renderer, weak self] frame in
        // On the sink's delivery thread: convert here, display on the main
        // queue in arrival order.
        guard let converted = renderer.sampleBuffer(from: frame) else { return }
        let sample = UncheckedSendable(converted) // enqueued once, on the main queue
        let rotation = frame.rotation
        DispatchQueue.main.async {
            MainActor.assumeIsolated { self?.show(sample.value, rotation: rotation) }
        }
    }

    public override init(frame: CGRect) {
        super.init(frame: frame)
        backgroundColor = .black
        displayLayer.videoGravity = .resizeAspectFill
    }

    required init?(coder: NSCoder) {
        super.init(coder: coder)
        displayLayer.videoGravity = .resizeAspectFill
    }

    private func show(_ sample: CMSampleBuffer, rotation: UInt32) {
        if displayLayer.status == .failed { displayLayer.flush() }
        displayLayer.enqueue(sample)
        if rotation != frameRotation {
            frameRotation = rotation
            applyRotation()
        }
    }

    /// The engine's render parameters for this view's user
    /// (`DeviceDelegate.setVideoRenderParams`).
    public func apply(_ params: VideoRenderParams) {
        displayLayer.videoGravity = params.fillMode == .fill ? .resizeAspectFill : .resizeAspect
        extraRotation = params.rotation
        applyRotation()
    }

    public override func layoutSubviews() {
        super.layoutSubviews()
        applyRotation()
    }

    /// Clockwise by the frame's rotation plus the extra one; a quarter turn
    /// swaps the layer's sides so the picture still fills the view.
    private func applyRotation() {
        let degrees = (frameRotation + extraRotation) % 360
        let quarter = degrees == 90 || degrees == 270
        CATransaction.begin()
        CATransaction.setDisableActions(true)
        displayLayer.setAffineTransform(CGAffineTransform(rotationAngle: CGFloat(degrees) * .pi / 180))
        displayLayer.bounds = CGRect(x: 0, y: 0,
                                     width: quarter ? bounds.height : bounds.width,
                                     height: quarter ? bounds.width : bounds.height)
        displayLayer.position = CGPoint(x: bounds.midX, y: bounds.midY)
        CATransaction.commit()
    }

    // MARK: picture in picture

    /// Let this (remote) view go picture-in-picture when the app leaves the
    /// foreground. Needs the `audio` background mode and an active audio session.
    public func enablePictureInPicture() {
        guard pip == nil, AVPictureInPictureController.isPictureInPictureSupported() else { return }
        let source = PictureInPictureSource()
        let controller = AVPictureInPictureController(contentSource: .init(sampleBufferDisplayLayer: displayLayer,
                                                                           playbackDelegate: source))
        controller.canStartPictureInPictureAutomaticallyFromInline = true
        pip = controller
        pipSource = source
    }

    public func startPictureInPicture() { pip?.startPictureInPicture() }
    public func stopPictureInPicture() { pip?.stopPictureInPicture() }
}

/// A live call: always playing, no timeline, nothing to skip.
private final class PictureInPictureSource: NSObject, AVPictureInPictureSampleBufferPlaybackDelegate {
    func pictureInPictureController(_ controller: AVPictureInPictureController, setPlaying playing: Bool) {}

    func pictureInPictureControllerTimeRangeForPlayback(_ controller: AVPictureInPictureController) -> CMTimeRange {
        CMTimeRange(start: .negativeInfinity, duration: .positiveInfinity)
    }

    func pictureInPictureControllerIsPlaybackPaused(_ controller: AVPictureInPictureController) -> Bool { false }

    func pictureInPictureController(_ controller: AVPictureInPictureController,
                                    didTransitionToRenderSize newRenderSize: CMVideoDimensions) {}

    func pictureInPictureController(_ controller: AVPictureInPictureController, skipByInterval skipInterval: CMTime,
                                    completion completionHandler: @escaping () -> Void) {
        completionHandler()
    }
}

/// I420 frames into NV12 sample buffers, on the sink's delivery thread.
final class FrameRenderer: @unchecked Sendable { // used from one delivery thread at a time
    private var pool: CVPixelBufferPool?
    private var poolSize = (width: 0, height: 0)

    func sampleBuffer(from frame: VideoFrame) -> CMSampleBuffer? {
        let width = Int(frame.width), height = Int(frame.height)
        guard width > 0, height > 0, let pixels = pixelBuffer(width: width, height: height) else { return nil }
        CVPixelBufferLockBaseAddress(pixels, [])
        frame.i420.withBytes { i420 in
            guard let src = i420.baseAddress?.assumingMemoryBound(to: UInt8.self),
                  i420.count >= width * height * 3 / 2,
                  let yDst = CVPixelBufferGetBaseAddressOfPlane(pixels, 0)?.assumingMemoryBound(to: UInt8.self),
                  let uvDst = CVPixelBufferGetBaseAddressOfPlane(pixels, 1)?.assumingMemoryBound(to: UInt8.self)
            else { return }
            let yStride = CVPixelBufferGetBytesPerRowOfPlane(pixels, 0)
            let uvStride = CVPixelBufferGetBytesPerRowOfPlane(pixels, 1)
            for row in 0..<height {
                (yDst + row * yStride).update(from: src + row * width, count: width)
            }
            let u = src + width * height, v = u + (width / 2) * (height / 2)
            for row in 0..<(height / 2) {
                let line = uvDst + row * uvStride
                for col in 0..<(width / 2) {
                    line[2 * col] = u[row * (width / 2) + col]
                    line[2 * col + 1] = v[row * (width / 2) + col]
                }
            }
        }
        CVPixelBufferUnlockBaseAddress(pixels, [])

        var format: CMVideoFormatDescription?
        CMVideoFormatDescriptionCreateForImageBuffer(allocator: nil, imageBuffer: pixels, formatDescriptionOut: &format)
        guard let format else { return nil }
        var timing = CMSampleTimingInfo(duration: .invalid,
                                        presentationTimeStamp: CMTime(value: frame.timestampUs, timescale: 1_000_000),
                                        decodeTimeStamp: .invalid)
        var sample: CMSampleBuffer?
        CMSampleBufferCreateReadyWithImageBuffer(allocator: nil, imageBuffer: pixels, formatDescription: format,
                                                 sampleTiming: &timing, sampleBufferOut: &sample)
        guard let sample else { return nil }
        // Show each frame as it comes (a live call, no timeline).
        if let attachments = CMSampleBufferGetSampleAttachmentsArray(sample, createIfNecessary: true),
           CFArrayGetCount(attachments) > 0 {
            let dict = unsafeBitCast(CFArrayGetValueAtIndex(attachments, 0), to: CFMutableDictionary.self)
            CFDictionarySetValue(dict, Unmanaged.passUnretained(kCMSampleAttachmentKey_DisplayImmediately).toOpaque(),
                                 Unmanaged.passUnretained(kCFBooleanTrue).toOpaque())
        }
        return sample
    }

    private func pixelBuffer(width: Int, height: Int) -> CVPixelBuffer? {
        if pool == nil || poolSize.width != width || poolSize.height != height {
            let attributes: [String: Any] = [
                kCVPixelBufferPixelFormatTypeKey as String: kCVPixelFormatType_420YpCbCr8BiPlanarFullRange,
                kCVPixelBufferWidthKey as String: width,
                kCVPixelBufferHeightKey as String: height,
                kCVPixelBufferIOSurfacePropertiesKey as String: [String: Any](),
            ]
            pool = nil
            CVPixelBufferPoolCreate(nil, nil, attributes as CFDictionary, &pool)
            poolSize = (width, height)
        }
        guard let pool else { return nil }
        var buffer: CVPixelBuffer?
        CVPixelBufferPoolCreatePixelBuffer(nil, pool, &buffer)
        return buffer
    }
}
#endif
