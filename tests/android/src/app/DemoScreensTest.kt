// The demo app's activities show the right screen for each call state:
// signed out, idle, ringing, dialing, in call and ended; and their buttons
// ask Hotline for the right thing. The state comes from a FakeCalls.
package io.hotline.demo.test

import android.Manifest
import android.app.Application
import android.os.Looper
import android.os.SystemClock
import io.hotline.demo.CallActivity
import io.hotline.demo.Demo
import io.hotline.demo.HotlineController
import io.hotline.demo.MainActivity
import io.hotline.sdk.CallRecord
import io.hotline.sdk.CallResult
import io.hotline.sdk.EndReason
import io.hotline.sdk.MediaType
import io.hotline.sdk.NetworkQuality
import io.hotline.sdk.android.CallUiState
import io.hotline.sdk.android.SavedLogin
import io.hotline.sdk.android.test.FullScreenIntentShadow
import java.time.Duration
import kotlinx.coroutines.Dispatchers
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config

@RunWith(RobolectricTestRunner::class)
@Config(shadows = [FullScreenIntentShadow::class])
class DemoScreensTest {
    private val alice = SavedLogin("ws://10.0.2.2:8080/ws", "alice", "sig")
    private lateinit var calls: FakeCalls

    @Before
    fun useFakeCalls() {
        calls = FakeCalls(CallUiState.SignedOut)
        Demo.controller = calls
        Demo.background = Dispatchers.Unconfined
        FullScreenIntentShadow.allowed = true
    }

    @After
    fun useHotlineAgain() {
        Demo.controller = HotlineController
        Demo.background = Dispatchers.Default
    }

    private fun grantCallPermissions() = shadowOf(RuntimeEnvironment.getApplication() as Application).grantPermissions(
        Manifest.permission.RECORD_AUDIO, Manifest.permission.CAMERA, Manifest.permission.POST_NOTIFICATIONS,
    )

    private fun main() = Robolectric.buildActivity(MainActivity::class.java).setup().get()
    private fun callScreen() = Robolectric.buildActivity(CallActivity::class.java).setup().get()

    @Test
    fun signedOutShowsTheSignInForm() {
        val screen = main()
        assertTrue(screen.signInForm.isShown)
        assertFalse(screen.home.isShown)
        assertEquals("ws://10.0.2.2:8080/ws", screen.serverUrl.text.toString())
    }

    @Test
    fun signInPassesWhatWasTyped() {
        val screen = main()
        screen.serverUrl.setText("ws://192.168.1.2:8080/ws")
        screen.userId.setText("alice")
        screen.userSig.setText("eJw-sig")
        clickButton(screen.signInForm, "Sign in")
        assertEquals(listOf("login ws://192.168.1.2:8080/ws alice eJw-sig"), calls.asked)
    }

    @Test
    fun signInWithoutAUserIdSaysWhatIsMissing() {
        val screen = main()
        screen.userId.setText("")
        clickButton(screen.signInForm, "Sign in")
        assertTrue(calls.asked.isEmpty())
        assertEquals("Enter the server URL and a user ID", screen.status.text.toString())
    }

    @Test
    fun idleShowsTheDialerAndTheCallHistory() {
        calls.savedLogin = alice
        calls.state.value = CallUiState.Idle
        calls.records = listOf(
            CallRecord("r1", "alice", "c1", "alice", listOf("bob"), MediaType.VIDEO, false, CallResult.OUTGOING, 1_700_000_000_000, 65uL),
        )
        val screen = main()
        assertFalse(screen.signInForm.isShown)
        assertTrue(screen.home.isShown)
        assertEquals("Signed in as alice", screen.whoAmI.text.toString())
        assertEquals(1, screen.history.childCount)
        val line = (screen.history.getChildAt(0) as android.widget.TextView).text.toString()
        assertTrue(line, line.contains("out video  bob 1:05"))
        assertFalse(screen.fullScreenHint.isShown)
    }

    @Test
    fun idleAsksForFullScreenIncomingCallsWhenNotAllowed() {
        FullScreenIntentShadow.allowed = false
        calls.state.value = CallUiState.Idle
        assertTrue(main().fullScreenHint.isShown)
    }

    @Test
    fun signingInSwitchesFromTheFormToTheDialer() {
        val screen = main()
        calls.state.value = CallUiState.Idle
        assertFalse(screen.signInForm.isShown)
        assertTrue(screen.home.isShown)
        calls.state.value = CallUiState.SignedOut
        assertTrue(screen.signInForm.isShown)
    }

    @Test
    fun theCallButtonsCallEveryUserTyped() {
        grantCallPermissions()
        calls.state.value = CallUiState.Idle
        val screen = main()
        screen.callees.setText("bob, carol")
        clickButton(screen.home, "Video call")
        clickButton(screen.home, "Audio call")
        assertEquals(listOf("call bob,carol VIDEO", "call bob,carol AUDIO"), calls.asked)
    }

    @Test
    fun aCallWithoutPermissionsAsksForThemFirst() {
        calls.state.value = CallUiState.Idle
        val screen = main()
        screen.callees.setText("bob")
        clickButton(screen.home, "Video call")
        assertTrue(calls.asked.isEmpty())
        val request = shadowOf(screen).lastRequestedPermission
        assertTrue(request.requestedPermissions.contains(Manifest.permission.CAMERA))
        assertTrue(request.requestedPermissions.contains(Manifest.permission.RECORD_AUDIO))
    }

    @Test
    fun aRingingCallOpensTheCallScreen() {
        calls.state.value = CallUiState.Idle
        val screen = main()
        calls.state.value = ringing()
        assertEquals(CallActivity::class.java.name, shadowOf(screen).nextStartedActivity.component?.className)
    }

    @Test
    fun ringingShowsTheCallerAndAccepts() {
        grantCallPermissions()
        calls.state.value = ringing()
        val screen = callScreen()
        assertTrue(screen.incoming.isShown)
        assertFalse(screen.inCallPanel.isShown)
        assertEquals("alice\nVideo call", screen.caller.text.toString())
        screen.accept.performClick()
        screen.decline.performClick()
        assertEquals(listOf("accept", "reject"), calls.asked)
    }

    @Test
    fun dialingShowsWhoIsCalledAndCancels() {
        calls.state.value = CallUiState.Dialing("", listOf("bob", "carol"), MediaType.AUDIO, isGroup = true)
        val screen = callScreen()
        assertTrue(screen.dialing.isShown)
        assertEquals("Calling bob, carol…\nAudio call", screen.dialingText.text.toString())
        clickButton(screen.dialing, "Cancel")
        assertEquals(listOf("hangup"), calls.asked)
    }

    @Test
    fun inCallShowsTilesTimerNetworkAndControls() {
        calls.savedLogin = alice
        calls.state.value = inCall(startedAgoMs = 65_000)
        val screen = callScreen()
        assertTrue(screen.inCallPanel.isShown)
        assertFalse(screen.incoming.isShown)
        assertEquals("1:05", screen.timer.text.toString())
        assertEquals(listOf(null, "bob", "carol"), calls.videoViews)
        assertEquals(listOf("alice", "bob", "carol"), screen.tiles.labels.keys.toList())
        assertEquals("bob · network: good", screen.tiles.labels["bob"]!!.text.toString())
        assertEquals("carol · network: poor", screen.tiles.labels["carol"]!!.text.toString())
        assertEquals("Mute", screen.mute.text.toString())
        screen.mute.performClick()
        screen.camera.performClick()
        screen.switchCamera.performClick()
        screen.speaker.performClick()
        screen.hangUp.performClick()
        assertEquals(listOf("mute true", "camera false", "switch camera", "speaker false", "hangup"), calls.asked)
    }

    @Test
    fun inCallFollowsTheStateAndTheClock() {
        calls.savedLogin = alice
        calls.state.value = inCall(startedAgoMs = 0)
        val screen = callScreen()
        calls.state.value = inCall(startedAgoMs = 0).copy(micMuted = true, cameraOn = false, remoteUserIds = listOf("bob"))
        assertEquals("Unmute", screen.mute.text.toString())
        assertEquals("Camera on", screen.camera.text.toString())
        assertFalse(screen.switchCamera.isEnabled)
        assertEquals(listOf("alice", "bob"), screen.tiles.labels.keys.toList())
        assertEquals("alice (you) · camera off · network: ?", screen.tiles.labels["alice"]!!.text.toString())
        shadowOf(Looper.getMainLooper()).idleFor(Duration.ofSeconds(3))
        assertEquals("0:03", screen.timer.text.toString())
    }

    @Test
    fun anAudioCallHasNoVideoControls() {
        calls.state.value = inCall(startedAgoMs = 0).copy(mediaType = MediaType.AUDIO, cameraOn = false)
        val screen = callScreen()
        assertTrue(calls.videoViews.isEmpty())
        assertFalse(screen.camera.isShown)
        assertFalse(screen.switchCamera.isShown)
    }

    @Test
    fun endedShowsTheReasonThenCloses() {
        calls.state.value = CallUiState.Ended("c1", EndReason.REJECT, connected = false)
        val screen = callScreen()
        assertTrue(screen.ended.isShown)
        assertEquals("Declined", screen.endedText.text.toString())
        assertFalse(screen.isFinishing)
        shadowOf(Looper.getMainLooper()).idleFor(Duration.ofSeconds(3))
        assertTrue(screen.isFinishing)
    }

    @Test
    fun aCallThatEndsGoesFromInCallToEndedAndReleasesTheVideo() {
        calls.state.value = inCall(startedAgoMs = 0)
        val screen = callScreen()
        calls.state.value = CallUiState.Ended("c1", EndReason.HANGUP, connected = true, durationS = 42)
        assertTrue(screen.ended.isShown)
        assertFalse(screen.inCallPanel.isShown)
        assertEquals("Call ended · 0:42", screen.endedText.text.toString())
        assertEquals(3, calls.released.size)
    }

    @Test
    fun theCallScreenClosesWhenThereIsNoCall() {
        calls.state.value = CallUiState.Idle
        assertTrue(callScreen().isFinishing)
    }

    private fun ringing() = CallUiState.Ringing("c1", "alice", "alice", MediaType.VIDEO, isGroup = false)

    private fun inCall(startedAgoMs: Long) = CallUiState.InCall(
        callId = "c1", mediaType = MediaType.VIDEO, isGroup = true, remoteUserIds = listOf("bob", "carol"),
        startedAtElapsedMs = SystemClock.elapsedRealtime() - startedAgoMs,
        networkQuality = mapOf("bob" to NetworkQuality.GOOD, "carol" to NetworkQuality.POOR),
    )

    /** Click the button labelled [text] somewhere under [root]. */
    private fun clickButton(root: android.view.View, text: String) {
        val button = find(root) { it is android.widget.Button && it.text.toString() == text }
            ?: throw AssertionError("no button \"$text\"")
        button.performClick()
    }

    private fun find(view: android.view.View, match: (android.view.View) -> Boolean): android.view.View? {
        if (match(view)) return view
        if (view is android.view.ViewGroup) {
            for (i in 0 until view.childCount) find(view.getChildAt(i), match)?.let { return it }
        }
        return null
    }
}
