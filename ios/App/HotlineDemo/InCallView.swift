// The in-call screen: remote video (or the peer's name for audio), the local
// preview, mute, camera, switch, speaker, hang up, and a timer.

import HotlineSDK
import HotlineShell
import SwiftUI

struct InCallView: View {
    @ObservedObject var model: AppModel
    let call: ShellCall

    var body: some View {
        ZStack {
            Color.black.ignoresSafeArea()
            if call.mediaType == .video {
                RemoteVideo(model: model, userIds: call.peers)
                    .ignoresSafeArea()
                if model.cameraOn {
                    VideoView(model: model, userId: "")
                        .frame(width: 110, height: 160)
                        .cornerRadius(8)
                        .frame(maxWidth: .infinity, maxHeight: .infinity, alignment: .topTrailing)
                        .padding()
                }
            }
            VStack {
                Text(call.displayName).font(.title2).foregroundColor(.white)
                CallTimer(connectedAt: call.connectedAt)
                Spacer()
                Controls(model: model, call: call)
            }
            .padding()
        }
    }
}

private struct RemoteVideo: View {
    @ObservedObject var model: AppModel
    let userIds: [String]

    var body: some View {
        let columns = userIds.count > 1 ? 2 : 1
        LazyVGrid(columns: Array(repeating: GridItem(.flexible(), spacing: 2), count: columns), spacing: 2) {
            ForEach(userIds, id: \.self) { userId in
                VideoView(model: model, userId: userId)
                    .aspectRatio(columns == 1 ? 9 / 16 : 3 / 4, contentMode: .fit)
            }
        }
    }
}

private struct Controls: View {
    @ObservedObject var model: AppModel
    let call: ShellCall

    var body: some View {
        HStack(spacing: 18) {
            RoundButton(symbol: call.muted ? "mic.slash.fill" : "mic.fill", on: call.muted) {
                Task { await model.toggleMute() }
            }
            RoundButton(symbol: model.cameraOn ? "video.fill" : "video.slash.fill", on: !model.cameraOn) {
                model.toggleCamera()
            }
            RoundButton(symbol: "arrow.triangle.2.circlepath.camera", on: false) { model.switchCamera() }
                .disabled(!model.cameraOn)
            RoundButton(symbol: "speaker.wave.2.fill", on: model.speakerOn) { model.toggleSpeaker() }
            RoundButton(symbol: "phone.down.fill", on: false, tint: .red) {
                Task { await model.hangUp() }
            }
        }
    }
}

private struct RoundButton: View {
    let symbol: String
    let on: Bool
    var tint: Color = .gray
    let action: () -> Void

    var body: some View {
        Button(action: action) {
            Image(systemName: symbol)
                .font(.title2)
                .frame(width: 56, height: 56)
                .background(on ? Color.white : tint.opacity(0.8))
                .foregroundColor(on ? .black : .white)
                .clipShape(Circle())
        }
    }
}

/// mm:ss since the call connected ("Calling…" before).
private struct CallTimer: View {
    let connectedAt: Date?

    var body: some View {
        if let connectedAt {
            TimelineView(.periodic(from: connectedAt, by: 1)) { context in
                let seconds = max(0, Int(context.date.timeIntervalSince(connectedAt)))
                Text(String(format: "%02d:%02d", seconds / 60, seconds % 60))
                    .monospacedDigit().foregroundColor(.white)
            }
        } else {
            Text("Calling…").foregroundColor(.white)
        }
    }
}

/// One user's video ("" is the local preview) in a VideoRenderView, shown
/// by the engine while the view is on screen.
struct VideoView: UIViewRepresentable {
    let model: AppModel
    let userId: String

    func makeUIView(context: Context) -> VideoRenderView {
        let view = VideoRenderView(frame: .zero)
        model.devices.attach(view, for: userId)
        if userId.isEmpty {
            model.engine.startLocalView(sink: view.sink)
        } else {
            model.engine.startRemoteView(userId: userId, sink: view.sink)
            view.enablePictureInPicture()
        }
        return view
    }

    func updateUIView(_ view: VideoRenderView, context: Context) {}

    static func dismantleUIView(_ view: VideoRenderView, coordinator: Coordinator) {
        coordinator.stop()
    }

    func makeCoordinator() -> Coordinator {
        Coordinator(model: model, userId: userId)
    }

    /// Stops the engine's view when SwiftUI removes this one (the engine
    /// decodes a user's video only while a view shows it).
    final class Coordinator {
        let model: AppModel
        let userId: String

        init(model: AppModel, userId: String) {
            self.model = model
            self.userId = userId
        }

        @MainActor func stop() {
            model.devices.detach(userId: userId)
            if userId.isEmpty { model.engine.stopLocalView() } else { model.engine.stopRemoteView(userId: userId) }
        }
    }
}
