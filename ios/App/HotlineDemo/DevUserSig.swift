// Development sign-in: a server started with `--dev-usersig` hands a UserSig
// for any user at GET /dev/usersig?user_id=ID (docs/web.md, "UserSigs").
// In production the app's backend issues UserSigs.

import Foundation

enum DevUserSig {
    struct Answer: Decodable {
        let sdk_app_id: UInt64
        let user_sig: String
        var sdkAppId: UInt64 { sdk_app_id }
        var userSig: String { user_sig }
    }

    struct Refused: Error, CustomStringConvertible {
        let description: String
    }

    /// `serverUrl` is the WebSocket URL (ws://host:port/ws or wss://...).
    static func fetch(serverUrl: String, userId: String) async throws -> Answer {
        guard var parts = URLComponents(string: serverUrl) else { throw Refused(description: "bad server URL") }
        parts.scheme = parts.scheme == "wss" ? "https" : "http"
        parts.path = "/dev/usersig"
        parts.queryItems = [URLQueryItem(name: "user_id", value: userId)]
        guard let url = parts.url else { throw Refused(description: "bad server URL") }
        let (data, response) = try await URLSession.shared.data(from: url)
        guard (response as? HTTPURLResponse)?.statusCode == 200 else {
            throw Refused(description: "the server gives no development UserSigs (start it with --dev-usersig), or paste one")
        }
        return try JSONDecoder().decode(Answer.self, from: data)
    }
}
