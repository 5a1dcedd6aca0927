package io.hotline.demo

import android.app.Application
import io.hotline.sdk.android.Hotline
import io.hotline.sdk.android.HotlineConfig

// With Firebase Cloud Messaging (not on Maven Central, so not in this demo),
// incoming calls ring while the app is not running; the app adds this service
// (and declares it in the manifest, see AndroidManifest.xml):
//
// class PushService : FirebaseMessagingService() {
//     override fun onMessageReceived(message: RemoteMessage) {
//         HotlinePush.onMessageReceived(this, message.data)
//     }
//     override fun onNewToken(token: String) = HotlinePush.onNewToken(this, token)
// }
//
// and passes HotlineConfig(fcmProjectId = "<Firebase project>") below.

/**
 * Starts Hotline once per process. It runs before anything else, also when a
 * push wakes the app, so an incoming call can ring without an activity.
 */
class DemoApplication : Application() {
    override fun onCreate() {
        super.onCreate()
        Hotline.init(
            this,
            HotlineConfig(
                incomingCallActivity = CallActivity::class.java,
                inCallActivity = CallActivity::class.java,
            ),
        )
    }
}
