// What every Robolectric test of the SDK shares: a fresh Hotline on the
// test's Application, and helpers to read notifications and services.
package io.hotline.sdk.android.test

import android.Manifest
import android.app.Application
import android.app.Notification
import android.app.NotificationManager
import android.app.PendingIntent
import android.content.Intent
import io.hotline.sdk.android.CallNotifications
import io.hotline.sdk.android.CallUiState
import io.hotline.sdk.android.Hotline
import io.hotline.sdk.android.HotlineActionReceiver
import io.hotline.sdk.android.HotlineCallService
import io.hotline.sdk.android.HotlineConfig
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Before
import org.robolectric.Robolectric
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf

abstract class HotlineTestBase {
    lateinit var app: Application
    lateinit var notifications: NotificationManager
    open val config = HotlineConfig()

    @Before
    fun startHotline() {
        app = RuntimeEnvironment.getApplication()
        notifications = app.getSystemService(NotificationManager::class.java)!!
        Hotline.init(app, config)
    }

    @After
    fun stopHotline() = runBlocking { Hotline.shutdown() }

    val state: CallUiState get() = Hotline.callState.value

    fun grantCallPermissions() = shadowOf(app).grantPermissions(
        Manifest.permission.RECORD_AUDIO, Manifest.permission.CAMERA, Manifest.permission.POST_NOTIFICATIONS,
    )

    /** Log in as [userId] through the SDK (which saves the login). */
    fun login(userId: String) = runBlocking { Hotline.login(Env.serverUrl, userId, Env.sig(userId)) }

    /** The call's notification, if one is posted. */
    fun callNotification(): Notification? = shadowOf(notifications).getNotification(CallNotifications.CALL_NOTIFICATION_ID)

    /** Whether the SDK asked to start the call service (drains the started-services record). */
    fun callServiceStarted(): Boolean {
        var started = false
        while (true) {
            val intent: Intent = shadowOf(app).nextStartedService ?: return started
            if (intent.component?.className == HotlineCallService::class.java.name) started = true
        }
    }

    /** Whether the SDK asked to stop the call service (drains the stopped-services record). */
    fun callServiceStopped(): Boolean {
        var stopped = false
        while (true) {
            val intent: Intent = shadowOf(app).nextStoppedService ?: return stopped
            if (intent.component?.className == HotlineCallService::class.java.name) stopped = true
        }
    }

    /** Run the call service as the system would after startForegroundService. */
    fun runCallService(): HotlineCallService =
        Robolectric.buildService(HotlineCallService::class.java).create().startCommand(0, 1).get()

    /** Fire a notification action's PendingIntent at the SDK's receiver, as the system would. */
    fun fire(pending: PendingIntent) {
        val intent = shadowOf(pending).savedIntent
        assertEquals(HotlineActionReceiver::class.java.name, intent.component?.className)
        HotlineActionReceiver().onReceive(app, intent)
    }
}
