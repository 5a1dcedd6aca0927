// Where CallKit is not allowed: the app's own incoming-call screen (the
// coordinator shows it through LocalNotificationAlerter).

import HotlineShell
import SwiftUI

struct IncomingCallView: View {
    @ObservedObject var model: AppModel
    let callId: String
    let info: IncomingCallInfo

    var body: some View {
        VStack(spacing: 24) {
            Spacer()
            Text(info.displayName).font(.largeTitle)
            Text(info.hasVideo ? "Incoming video call" : "Incoming call").foregroundColor(.secondary)
            Spacer()
            HStack(spacing: 60) {
                Button { Task { await model.decline(callId: callId) } } label: {
                    Image(systemName: "phone.down.fill").font(.title)
                        .frame(width: 72, height: 72).background(Color.red).foregroundColor(.white).clipShape(Circle())
                }
                Button { Task { await model.answer(callId: callId) } } label: {
                    Image(systemName: "phone.fill").font(.title)
                        .frame(width: 72, height: 72).background(Color.green).foregroundColor(.white).clipShape(Circle())
                }
            }
            .padding(.bottom, 48)
        }
    }
}
