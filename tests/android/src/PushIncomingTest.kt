// A push wakes the app: the call rings at once from the payload, the service
// starts, the engine logs in with the saved login, and the notification's
// actions answer or decline the real call with a `hotline phone`.
package io.hotline.sdk.android.test

import android.app.Notification
import android.app.PendingIntent
import android.content.pm.ServiceInfo
import io.hotline.sdk.EndReason
import io.hotline.sdk.MediaType
import io.hotline.sdk.android.CallNotifications
import io.hotline.sdk.android.CallUiState
import io.hotline.sdk.android.Hotline
import io.hotline.sdk.android.HotlineConfig
import io.hotline.sdk.android.HotlinePush
import io.hotline.sdk.android.HotlineVideoView
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config

@RunWith(RobolectricTestRunner::class)
@Config(shadows = [FullScreenIntentShadow::class])
class PushIncomingTest : HotlineTestBase() {
    override val config = HotlineConfig(incomingCallActivity = CallScreen::class.java, inCallActivity = CallScreen::class.java)

    /** Log in once and end the process's engine, as an app killed after its last login. */
    private fun savedLoginOnly(userId: String) {
        login(userId)
        runBlocking { Hotline.shutdown() }
        Hotline.init(app, config)
        assertEquals(userId, Hotline.savedLogin?.userId)
        assertFalse(Hotline.isLoggedIn())
    }

    private fun answerIntent(n: Notification) = n.extras.getParcelable(Notification.EXTRA_ANSWER_INTENT, PendingIntent::class.java)!!
    private fun declineIntent(n: Notification) = n.extras.getParcelable(Notification.EXTRA_DECLINE_INTENT, PendingIntent::class.java)!!

    @Test
    fun `a push rings with a full-screen CallStyle notification, answering it begins the call and remote video reaches the view`() {
        grantCallPermissions()
        FullScreenIntentShadow.allowed = true
        val bob = uid("bob")
        savedLoginOnly(bob)
        PhoneProcess(uid("alice"), "--call", bob, "--camera", "synthetic").use { alice ->
            val callId = alice.field("callPlaced", "callId")
            assertTrue(HotlinePush.onMessageReceived(app, mapOf("hotline" to callPush(callId, alice.userId))))
            until("the pushed call rings") { state is CallUiState.Ringing }

            val n = checkNotNull(callNotification()) { "no call notification" }
            assertEquals(Notification.CATEGORY_CALL, n.category)
            assertEquals(CallNotifications.INCOMING_CHANNEL, n.channelId)
            assertEquals(Notification.CallStyle::class.java.name, n.extras.getString(Notification.EXTRA_TEMPLATE))
            assertEquals(Notification.CallStyle.CALL_TYPE_INCOMING, n.extras.getInt(Notification.EXTRA_CALL_TYPE))
            val fullScreen = checkNotNull(n.fullScreenIntent) { "no full-screen intent" }
            assertEquals(CallScreen::class.java.name, shadowOf(fullScreen).savedIntent.component?.className)
            assertTrue(shadowOf(fullScreen).isActivity)
            assertEquals(alice.userId, n.extras.getCharSequence(Notification.EXTRA_TITLE).toString())

            assertTrue("the call service was started", callServiceStarted())
            val service = runCallService()
            val expected = ServiceInfo.FOREGROUND_SERVICE_TYPE_PHONE_CALL or
                ServiceInfo.FOREGROUND_SERVICE_TYPE_MICROPHONE or ServiceInfo.FOREGROUND_SERVICE_TYPE_CAMERA
            assertEquals(expected, service.foregroundServiceType)
            assertEquals(CallNotifications.CALL_NOTIFICATION_ID, shadowOf(service).lastForegroundNotificationId)

            // The engine logs in with the saved login and finds the call still ringing.
            until("the engine confirms the pushed call") { (state as? CallUiState.Ringing)?.confirmed == true }
            assertTrue(Hotline.isLoggedIn())

            fire(answerIntent(n))
            alice.await("onCallBegin")
            until("in call") { state is CallUiState.InCall }
            val inCall = state as CallUiState.InCall
            assertEquals(listOf(alice.userId), inCall.remoteUserIds)
            assertEquals(MediaType.VIDEO, inCall.mediaType)
            assertNull("the incoming notification is gone", callNotification())

            val view = HotlineVideoView(app)
            view.showRemote(alice.userId)
            until("remote frames reach the view") { view.framesReceived > 0 }
            view.clear()

            runBlocking { Hotline.hangup() }
            alice.await("onCallEnd")
            until("ended") { state is CallUiState.Ended }
            assertEquals(EndReason.HANGUP, (state as CallUiState.Ended).reason)
            assertTrue("the call service was stopped", callServiceStopped())
        }
    }

    @Test
    fun `without camera and microphone permission the service is phoneCall only, without full-screen permission it is a heads-up, and declining rejects`() {
        FullScreenIntentShadow.allowed = false
        val bob = uid("bob")
        savedLoginOnly(bob)
        PhoneProcess(uid("alice"), "--call", bob).use { alice ->
            val callId = alice.field("callPlaced", "callId")
            HotlinePush.onMessageReceived(app, mapOf("hotline" to callPush(callId, alice.userId)))
            until("the pushed call rings") { state is CallUiState.Ringing }
            assertTrue(callServiceStarted())
            assertEquals(ServiceInfo.FOREGROUND_SERVICE_TYPE_PHONE_CALL, runCallService().foregroundServiceType)
            val n = checkNotNull(callNotification()) { "no call notification" }
            assertNull("no full-screen intent without the permission", n.fullScreenIntent)
            assertEquals("a heads-up: high importance", android.app.NotificationManager.IMPORTANCE_HIGH,
                notifications.getNotificationChannel(n.channelId).importance)

            // Declined at once: the SDK rejects as soon as the engine has the call.
            fire(declineIntent(n))
            alice.await("onUserReject", "\"userId\":\"$bob\"")
            until("ended") { state is CallUiState.Ended }
            assertEquals(EndReason.REJECT, (state as CallUiState.Ended).reason)
            assertNull(callNotification())
            assertTrue(callServiceStopped())
        }
    }

    @Test
    fun `cancel pushes remove the notification and stop the service`() {
        // No saved login: the call is known only from pushes.
        for ((reason, expected) in listOf("canceled" to EndReason.CANCELED, "answered_elsewhere" to EndReason.OTHER_DEVICE_ACCEPTED)) {
            val callId = "pushed-" + uid(reason)
            assertTrue(HotlinePush.onMessageReceived(app, mapOf("hotline" to callPush(callId, "alice", video = false))))
            until("ringing") { state is CallUiState.Ringing && (state as CallUiState.Ringing).callId == callId }
            assertNotNull(callNotification())
            assertTrue(callServiceStarted())
            assertTrue(HotlinePush.onMessageReceived(app, mapOf("hotline" to cancelPush(callId, reason))))
            until("ended by the cancel push") { state is CallUiState.Ended }
            assertEquals(expected, (state as CallUiState.Ended).reason)
            assertNull(callNotification())
            assertTrue(callServiceStopped())
        }
        assertFalse("not Hotline's", HotlinePush.onMessageReceived(app, mapOf("title" to "hello")))
    }

    @Test
    fun `a pushed call that is never confirmed stops ringing at its deadline`() {
        val callId = "pushed-" + uid("late")
        HotlinePush.onMessageReceived(app, mapOf("hotline" to callPush(callId, "alice", deadlineMs = System.currentTimeMillis() + 5_000)))
        until("ringing") { state is CallUiState.Ringing }
        shadowOf(android.os.Looper.getMainLooper()).idleFor(java.time.Duration.ofSeconds(6))
        until("ended at the deadline") { state is CallUiState.Ended }
        assertEquals(EndReason.NO_RESPONSE, (state as CallUiState.Ended).reason)
        assertNull(callNotification())
    }
}
