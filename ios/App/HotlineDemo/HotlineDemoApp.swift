// The demo app: sign in, call, answer through CallKit (or, in mainland China,
// through the app's own screen), the in-call screen, and call history.
//
// NOT COMPILED ON THE LINUX BUILD MACHINE (SwiftUI and UIKit exist only on
// Apple's systems): built on a Mac by `scripts/build-ios.sh`.

import SwiftUI
import UIKit

@main
struct HotlineDemoApp: App {
    @UIApplicationDelegateAdaptor(AppDelegate.self) private var appDelegate

    var body: some Scene {
        WindowGroup {
            RootView(model: appDelegate.model)
        }
    }
}

/// Builds the model at launch: PushKit delivers a VoIP push that woke the
/// app only to a registry made in didFinishLaunching.
@MainActor
final class AppDelegate: NSObject, UIApplicationDelegate {
    lazy var model = AppModel()

    func application(_ application: UIApplication,
                     didFinishLaunchingWithOptions launchOptions: [UIApplication.LaunchOptionsKey: Any]? = nil) -> Bool {
        model.launch()
        return true
    }

    func application(_ application: UIApplication, didRegisterForRemoteNotificationsWithDeviceToken deviceToken: Data) {
        model.alertTokenReceived(deviceToken)
    }
}

struct RootView: View {
    @ObservedObject var model: AppModel

    var body: some View {
        Group {
            if let ringing = model.appScreenRinging {
                IncomingCallView(model: model, callId: ringing.callId, info: ringing.info)
            } else if let call = model.currentCall, call.phase == .active || call.direction == .outgoing {
                InCallView(model: model, call: call)
            } else if model.signedIn {
                HomeView(model: model)
            } else {
                SignInView(model: model)
            }
        }
        .alert(item: $model.problem) { problem in
            Alert(title: Text("Hotline"), message: Text(problem.text))
        }
    }
}
