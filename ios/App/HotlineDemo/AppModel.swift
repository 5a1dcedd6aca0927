// The app's state and actions over HotlineShell's coordinator. Views read
// the published state and call these methods; the coordinator makes the call
// decisions (CallKit, pushes, audio).

import Foundation
import HotlineSDK
import HotlineShell
import SwiftUI
import UIKit

struct Problem: Identifiable {
    let id = UUID()
    let text: String
}

@MainActor
final class AppModel: ObservableObject {
    let engine: HotlineEngine
    let devices: PhoneDevices
    let session = SavedSession()
    private(set) var coordinator: CallCoordinator!
    private let pushRegistry = PushKitRegistry()
    private let usesCallKit: Bool

    @Published var signedIn = false
    @Published var calls: [ShellCall] = []
    @Published var history: [CallRecord] = []
    @Published var problem: Problem?
    @Published var cameraOn = false
    @Published var frontCamera = true
    @Published var speakerOn = false
    /// Without CallKit: the call the app's own incoming screen shows.
    @Published var appScreenRinging: (callId: String, info: IncomingCallInfo)?

    var currentCall: ShellCall? { calls.last }

    init() {
        let engine = HotlineEngine()
        self.engine = engine
        devices = PhoneDevices(engine: engine)
        // Apps in the App Store's China storefront may not use CallKit; the
        // demo decides by the device's region.
        usesCallKit = CallKitPolicy.callKitAllowed(regionCode: Locale.current.regionCode)
        let surface: CallSurface
        var bridge: CallKitBridge? // never created where CallKit is not allowed
        if usesCallKit {
            let callKit = CallKitBridge()
            bridge = callKit
            surface = .callKit(provider: callKit, controller: callKit)
        } else {
            let alerter = LocalNotificationAlerter(
                showScreen: { [weak self] callId, info in self?.appScreenRinging = (callId, info) },
                hideScreen: { [weak self] callId in
                    if self?.appScreenRinging?.callId == callId { self?.appScreenRinging = nil }
                })
            alerter.registerCategory()
            surface = .appScreen(alerter: alerter)
        }
        #if DEBUG
        let environment = PushEnvironment.sandbox
        #else
        let environment = PushEnvironment.production
        #endif
        coordinator = CallCoordinator(engine: engine, surface: surface, audio: devices.audio, session: session,
                                      pushTarget: PushTokenTarget(app: Bundle.main.bundleIdentifier ?? "io.hotline.demo",
                                                                  environment: environment))
        bridge?.coordinator = coordinator
        coordinator.onCallsChanged = { [weak self] calls in self?.calls = calls }
        coordinator.log = { line in print("Hotline shell: \(line)") }
    }

    /// At launch: follow the engine, receive pushes, and log in again with
    /// the saved session.
    func launch() {
        coordinator.start()
        if usesCallKit {
            pushRegistry.start(receiver: coordinator)
        } else {
            UIApplication.shared.registerForRemoteNotifications()
        }
        if let saved = session.saved {
            Task { await signIn(serverUrl: saved.serverUrl, sdkAppId: saved.sdkAppId,
                                userId: saved.userId, userSig: saved.userSig) }
        }
    }

    func alertTokenReceived(_ token: Data) {
        coordinator.alertPushTokenUpdated(token)
    }

    // MARK: sign in

    /// `userSig` empty: fetch one (and the SDKAppID) from a server started
    /// with `--dev-usersig`.
    func signIn(serverUrl: String, sdkAppId: UInt64, userId: String, userSig: String) async {
        do {
            var config = EngineConfig(serverUrl: serverUrl, sdkAppId: sdkAppId, userId: userId, userSig: userSig)
            if userSig.isEmpty {
                let dev = try await DevUserSig.fetch(serverUrl: serverUrl, userId: userId)
                config.sdkAppId = dev.sdkAppId
                config.userSig = dev.userSig
            }
            try await coordinator.login(config: config)
            session.save(config)
            signedIn = true
            await loadHistory()
        } catch {
            problem = Problem(text: "Sign-in failed: \(error)")
        }
    }

    func signOut() async {
        try? await engine.unregisterPushToken()
        await coordinator.logout()
        session.clear()
        signedIn = false
    }

    // MARK: calls

    func call(_ userIds: [String], video: Bool) async {
        do {
            _ = try await coordinator.startCall(to: userIds, mediaType: video ? .video : .audio)
            cameraOn = video
        } catch {
            problem = Problem(text: "The call failed: \(error)")
        }
    }

    func answer(callId: String) async {
        do {
            try await coordinator.answer(callId: callId)
            cameraOn = calls.first { $0.callId == callId }?.mediaType == .video
        } catch {
            problem = Problem(text: "Answering failed: \(error)")
        }
    }

    func hangUp() async {
        guard let call = currentCall else { return }
        try? await coordinator.end(uuid: call.uuid)
        await loadHistory()
    }

    func decline(callId: String) async {
        try? await coordinator.end(callId: callId)
    }

    func toggleMute() async {
        guard let call = currentCall, let callId = call.callId else { return }
        try? await coordinator.setMuted(!call.muted, callId: callId)
    }

    func toggleCamera() {
        cameraOn.toggle()
        if cameraOn { engine.openCamera(camera: frontCamera ? .front : .back) } else { engine.closeCamera() }
    }

    func switchCamera() {
        frontCamera.toggle()
        engine.switchCamera(camera: frontCamera ? .front : .back)
    }

    func toggleSpeaker() {
        speakerOn.toggle()
        engine.selectAudioPlaybackDevice(device: speakerOn ? .speakerphone : .earpiece)
    }

    // MARK: history

    func loadHistory() async {
        do {
            history = try await engine.queryRecentCalls(filter: RecordFilter(count: 50))
        } catch {
            problem = Problem(text: "History: \(error)")
        }
    }
}
