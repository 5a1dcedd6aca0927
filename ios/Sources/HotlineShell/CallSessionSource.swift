// The app's credentials, asked for when the coordinator must log in by
// itself: a pushed call is answered or declined while the engine is not
// logged in. The app's backend issues UserSigs; the coordinator never stores one.

import HotlineSDK

/// Supplies an `EngineConfig` for a login.
public protocol CallSessionSource: Sendable {
    /// The login to use. `serverUrl` is the pushed call's server (nil when
    /// not from a push); most apps ignore it and use their own.
    func engineConfig(serverUrl: String?) async throws -> EngineConfig
}
