// Sign in: the server's WebSocket URL, the SDKAppID, the user ID, and a
// UserSig pasted from the app's backend (empty: fetched from a server started
// with --dev-usersig).

import SwiftUI

struct SignInView: View {
    @ObservedObject var model: AppModel
    @AppStorage("serverUrl") private var serverUrl = "ws://192.168.1.10:8080/ws"
    @AppStorage("sdkAppId") private var sdkAppId = "1400000000"
    @AppStorage("userId") private var userId = ""
    @State private var userSig = ""
    @State private var busy = false

    var body: some View {
        NavigationView {
            Form {
                Section(header: Text("Server")) {
                    TextField("ws://host:8080/ws", text: $serverUrl)
                        .keyboardType(.URL).textInputAutocapitalization(.never).disableAutocorrection(true)
                    TextField("SDKAppID", text: $sdkAppId).keyboardType(.numberPad)
                }
                Section(header: Text("User"), footer: Text("Leave the UserSig empty to get one from a server started with --dev-usersig.")) {
                    TextField("User ID", text: $userId)
                        .textInputAutocapitalization(.never).disableAutocorrection(true)
                    TextField("UserSig", text: $userSig)
                        .textInputAutocapitalization(.never).disableAutocorrection(true)
                }
                Button(busy ? "Signing in…" : "Sign in") {
                    busy = true
                    Task {
                        await model.signIn(serverUrl: serverUrl, sdkAppId: UInt64(sdkAppId) ?? 0,
                                           userId: userId, userSig: userSig)
                        busy = false
                    }
                }
                .disabled(busy || userId.isEmpty || serverUrl.isEmpty)
            }
            .navigationTitle("Hotline")
        }
    }
}
