// The self-managed ConnectionService: the Connection follows the real call's
// states, and answer, reject and disconnect from the system UI (or a headset
// button, or a car, which Telecom turns into the same calls) reach the engine.
package io.hotline.sdk.android.test

import android.telecom.Connection
import android.telecom.DisconnectCause
import android.telecom.PhoneAccount
import android.telecom.TelecomManager
import android.telecom.VideoProfile
import io.hotline.sdk.MediaType
import io.hotline.sdk.android.CallUiState
import io.hotline.sdk.android.Hotline
import io.hotline.sdk.android.HotlineConnection
import io.hotline.sdk.android.HotlineConnectionService
import io.hotline.sdk.android.TelecomAccount
import io.hotline.sdk.android.TelecomCalls
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.shadows.ShadowTelecomManager

@RunWith(RobolectricTestRunner::class)
class TelecomTest : HotlineTestBase() {
    private val telecom get() = shadowOf(app.getSystemService(TelecomManager::class.java))

    @Before
    fun connectTelecom() {
        telecom.setConnectionService(Robolectric.setupService(HotlineConnectionService::class.java))
        telecom.setCallRequestMode(ShadowTelecomManager.CallRequestMode.ALLOW_ALL)
    }

    private fun connection(what: String, cond: (HotlineConnection) -> Boolean): HotlineConnection {
        until(what) { TelecomCalls.current?.let(cond) == true }
        return TelecomCalls.current!!
    }

    @Test
    fun `the app's self-managed PhoneAccount is registered`() {
        val account = telecom.allPhoneAccounts.single { it.accountHandle == TelecomAccount.handle(app) }
        assertTrue(account.hasCapabilities(PhoneAccount.CAPABILITY_SELF_MANAGED))
        assertTrue(account.supportsUriScheme(TelecomAccount.URI_SCHEME))
    }

    @Test
    fun `an incoming connection rings, and a reject from the system UI reaches the caller`() {
        val bob = uid("bob")
        login(bob)
        PhoneProcess(uid("alice"), "--call", bob).use { alice ->
            val callId = alice.field("callPlaced", "callId")
            val ringing = connection("a ringing connection") { it.state == Connection.STATE_RINGING }
            assertTrue(ringing.incoming)
            assertEquals(callId, ringing.callId)
            assertEquals(Connection.PROPERTY_SELF_MANAGED, ringing.connectionProperties and Connection.PROPERTY_SELF_MANAGED)
            assertEquals(VideoProfile.STATE_BIDIRECTIONAL, ringing.videoState)

            ringing.onReject()
            alice.await("onUserReject", "\"userId\":\"$bob\"")
            until("disconnected") { ringing.state == Connection.STATE_DISCONNECTED }
            assertEquals(DisconnectCause.REJECTED, ringing.disconnectCause.code)
            until("ended") { state is CallUiState.Ended }
            assertEquals(null, TelecomCalls.current)
        }
    }

    @Test
    fun `answer and disconnect from the system UI (a headset button, a car) answer and end the call`() {
        val bob = uid("bob")
        login(bob)
        PhoneProcess(uid("alice"), "--call", bob, "--media", "audio").use { alice ->
            val ringing = connection("a ringing connection") { it.state == Connection.STATE_RINGING }
            ringing.onAnswer(VideoProfile.STATE_AUDIO_ONLY)
            alice.await("onCallBegin")
            until("active") { ringing.state == Connection.STATE_ACTIVE }
            assertTrue(state is CallUiState.InCall)
            ringing.onDisconnect()
            alice.await("onCallEnd")
            until("disconnected") { ringing.state == Connection.STATE_DISCONNECTED }
            assertEquals(DisconnectCause.LOCAL, ringing.disconnectCause.code)
        }
    }

    @Test
    fun `an outgoing connection dials, goes active, and ends with REMOTE when the callee hangs up`() {
        val bob = uid("bob")
        login(bob)
        PhoneProcess(uid("alice"), "--answer", "accept", "--answer-delay", "2", "--hangup-after", "2").use { alice ->
            alice.await("ready")
            runBlocking { Hotline.call(listOf(alice.userId), MediaType.AUDIO) }
            // Telecom created the connection inside placeCall; the main looper has not run since, so nothing moved it on.
            val dialing = checkNotNull(TelecomCalls.current) { "no outgoing connection" }
            assertEquals(Connection.STATE_DIALING, dialing.state)
            assertFalse(dialing.incoming)
            assertTrue(telecom.allOutgoingCalls.isNotEmpty())
            alice.await("onCallBegin")
            until("active") { dialing.state == Connection.STATE_ACTIVE }
            alice.await("onCallEnd")
            until("disconnected") { dialing.state == Connection.STATE_DISCONNECTED }
            assertEquals(DisconnectCause.REMOTE, dialing.disconnectCause.code)
        }
    }
}
