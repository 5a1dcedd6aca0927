// The signed-in user's login, kept so that a call pushed while the app was
// not running can be answered (the coordinator logs in with it). A demo
// keeps it in UserDefaults; an app would keep the UserSig in the keychain
// and ask its backend for a fresh one here.

import Foundation
import HotlineSDK
import HotlineShell

final class SavedSession: CallSessionSource, @unchecked Sendable { // UserDefaults is thread-safe
    private let key = "io.hotline.demo.session"

    var saved: EngineConfig? {
        guard let values = UserDefaults.standard.dictionary(forKey: key),
              let serverUrl = values["serverUrl"] as? String, let userId = values["userId"] as? String,
              let userSig = values["userSig"] as? String, let sdkAppId = values["sdkAppId"] as? String,
              let appId = UInt64(sdkAppId) else { return nil }
        return EngineConfig(serverUrl: serverUrl, sdkAppId: appId, userId: userId, userSig: userSig)
    }

    func save(_ config: EngineConfig) {
        UserDefaults.standard.set(["serverUrl": config.serverUrl, "userId": config.userId,
                                   "userSig": config.userSig, "sdkAppId": String(config.sdkAppId)], forKey: key)
    }

    func clear() {
        UserDefaults.standard.removeObject(forKey: key)
    }

    func engineConfig(serverUrl: String?) async throws -> EngineConfig {
        guard let saved else { throw HotlineError.Api(code: -1301, msg: "not signed in on this phone") }
        return saved
    }
}
