// Calls that ring over the live connection (the app is running and logged
// in): the caller cancels, another device answers, and the in-call controls
// reach the engine and the device delegate.
package io.hotline.sdk.android.test

import io.hotline.sdk.AudioPlaybackDevice
import io.hotline.sdk.CallEvent
import io.hotline.sdk.CallParams
import io.hotline.sdk.Camera
import io.hotline.sdk.EndReason
import io.hotline.sdk.MediaType
import io.hotline.sdk.syntheticCamera
import io.hotline.sdk.toneMicrophone
import io.hotline.sdk.android.CallUiState
import io.hotline.sdk.android.Hotline
import io.hotline.sdk.android.HotlineConfig
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner

@RunWith(RobolectricTestRunner::class)
class LiveCallTest : HotlineTestBase() {
    override val config = HotlineConfig(multiDevice = true)

    @Test
    fun `the caller cancelling removes the notification and stops the service`() = runBlocking {
        val bob = uid("bob")
        login(bob)
        Caller().login().use { alice ->
            val callId = alice.engine.calls(listOf(bob), MediaType.AUDIO, CallParams())
            until("ringing") { state is CallUiState.Ringing }
            assertEquals(callId, (state as CallUiState.Ringing).callId)
            assertNotNull(callNotification())
            assertTrue(callServiceStarted())
            alice.engine.hangup()
            until("ended") { state is CallUiState.Ended }
            assertEquals(EndReason.CANCELED, (state as CallUiState.Ended).reason)
            assertNull(callNotification())
            assertTrue(callServiceStopped())
            alice.engine.unInit()
        }
    }

    @Test
    fun `answered on another device stops the ringing`() {
        val bob = uid("bob")
        login(bob)
        PhoneProcess(bob, "--multi-device", "--answer", "accept", "--answer-delay", "2").use { tablet ->
            tablet.await("ready")
            PhoneProcess(uid("alice"), "--call", bob, "--media", "audio").use { alice ->
                until("ringing") { state is CallUiState.Ringing }
                assertNotNull(callNotification())
                tablet.await("onCallBegin")
                until("ended here") { state is CallUiState.Ended }
                assertEquals(EndReason.OTHER_DEVICE_ACCEPTED, (state as CallUiState.Ended).reason)
                assertNull(callNotification())
                assertTrue(callServiceStopped())
                alice.await("onCallBegin")
            }
        }
    }

    @Test
    fun `in-call controls reach the engine and the device delegate`() {
        grantCallPermissions()
        val bob = uid("bob")
        login(bob)
        // No camera frames or microphone samples under Robolectric: the engine's test camera
        // and tone stand in for Camera2 and AudioRecord, so the caller sees media come and go.
        Hotline.engine.setVideoSource(syntheticCamera(640u, 360u))
        Hotline.engine.setAudioSource(toneMicrophone(660.0, 0.3))
        PhoneProcess(uid("alice"), "--call", bob, "--camera", "synthetic", "--mic", "tone").use { alice ->
            until("ringing") { state is CallUiState.Ringing }
            runBlocking { Hotline.accept() }
            alice.await("onCallBegin")
            until("in call") { state is CallUiState.InCall }
            val devices = Hotline.devices
            until("camera and microphone opened by the engine") { devices.camera.value == Camera.FRONT && devices.microphoneOpen.value }
            assertTrue((state as CallUiState.InCall).speakerOn)
            alice.await("onUserAudioAvailable", "\"userId\":\"$bob\"", "\"available\":true")
            alice.await("onUserVideoAvailable", "\"userId\":\"$bob\"", "\"available\":true")

            Hotline.setMicrophoneMuted(true)
            until("microphone closed") { !devices.microphoneOpen.value && (state as CallUiState.InCall).micMuted }
            alice.await("onUserAudioAvailable", "\"userId\":\"$bob\"", "\"available\":false")

            Hotline.switchCamera()
            until("back camera") { devices.camera.value == Camera.BACK && !(state as CallUiState.InCall).frontCamera }

            Hotline.setCameraOn(false)
            until("camera closed") { devices.camera.value == null && !(state as CallUiState.InCall).cameraOn }
            alice.await("onUserVideoAvailable", "\"userId\":\"$bob\"", "\"available\":false")

            Hotline.setSpeakerOn(false)
            until("earpiece") { devices.playbackDevice.value == AudioPlaybackDevice.EARPIECE && !(state as CallUiState.InCall).speakerOn }
            Hotline.setSpeakerOn(true)
            until("speaker") { devices.playbackDevice.value == AudioPlaybackDevice.SPEAKERPHONE }

            Hotline.setMicrophoneMuted(false)
            until("microphone reopened") { devices.microphoneOpen.value }
            Hotline.setCameraOn(true)
            until("camera reopened, still the back one") { devices.camera.value == Camera.BACK }

            runBlocking { Hotline.hangup() }
            alice.await("onCallEnd")
            until("ended") { state is CallUiState.Ended }
            until("devices released by the engine") { devices.camera.value == null && !devices.microphoneOpen.value }
            assertFalse(Hotline.callState.value is CallUiState.InCall)
        }
    }
}
