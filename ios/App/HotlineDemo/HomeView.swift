// Call one or more users by audio or video, and the call history
// (queryRecentCalls).

import HotlineSDK
import SwiftUI

struct HomeView: View {
    @ObservedObject var model: AppModel
    @State private var callees = ""

    private var userIds: [String] {
        callees.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
    }

    var body: some View {
        NavigationView {
            List {
                Section(header: Text("Call"), footer: Text("One user ID, or several separated by commas for a group call.")) {
                    TextField("User IDs", text: $callees)
                        .textInputAutocapitalization(.never).disableAutocorrection(true)
                    HStack {
                        Button { Task { await model.call(userIds, video: false) } } label: {
                            Label("Audio", systemImage: "phone.fill")
                        }
                        Spacer()
                        Button { Task { await model.call(userIds, video: true) } } label: {
                            Label("Video", systemImage: "video.fill")
                        }
                    }
                    .buttonStyle(.borderless)
                    .disabled(userIds.isEmpty)
                }
                Section(header: Text("Recent calls")) {
                    ForEach(model.history, id: \.recordId) { record in
                        HistoryRow(record: record)
                    }
                }
            }
            .navigationTitle("Hotline")
            .toolbar {
                Button("Sign out") { Task { await model.signOut() } }
            }
            .refreshable { await model.loadHistory() }
        }
    }
}

private struct HistoryRow: View {
    let record: CallRecord

    var body: some View {
        HStack {
            Image(systemName: record.mediaType == .video ? "video" : "phone")
            VStack(alignment: .leading) {
                Text(peers).lineLimit(1)
                Text(Date(timeIntervalSince1970: Double(record.beginTimeMs) / 1000), style: .date)
                    .font(.caption).foregroundColor(.secondary)
            }
            Spacer()
            Text(outcome).font(.caption).foregroundColor(record.result == .missed ? .red : .secondary)
        }
    }

    private var peers: String {
        record.result == .outgoing ? record.calleeIds.joined(separator: ", ") : record.callerId
    }

    private var outcome: String {
        switch record.result {
        case .missed: return "missed"
        case .incoming: return "in, \(record.totalTimeS) s"
        case .outgoing: return "out, \(record.totalTimeS) s"
        }
    }
}
