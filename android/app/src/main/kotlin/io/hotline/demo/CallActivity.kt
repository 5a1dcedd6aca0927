package io.hotline.demo

import android.app.Activity
import android.content.res.Configuration
import android.os.Bundle
import android.os.Handler
import android.os.Looper
import android.os.SystemClock
import android.view.Gravity
import android.view.WindowManager
import android.widget.Button
import android.widget.LinearLayout
import android.widget.TextView
import io.hotline.sdk.MediaType
import io.hotline.sdk.android.CallUiState
import io.hotline.sdk.android.HotlinePictureInPicture
import io.hotline.sdk.android.HotlineVideoView
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch

/**
 * The call screen, one panel per state: incoming (accept, decline), dialing
 * (cancel), in call (video tiles, mute, camera, switch camera, speaker, hang
 * up, the timer, network quality per user) and ended (the reason, then it
 * closes). Opened by [MainActivity] and by the SDK's notifications.
 */
class CallActivity : Activity() {
    private val controller get() = Demo.controller
    private lateinit var scope: CoroutineScope
    private lateinit var observer: StateObserver<CallUiState>
    private lateinit var permissions: PermissionGate
    private lateinit var pip: HotlinePictureInPicture
    private val main = Handler(Looper.getMainLooper())
    private val tick = object : Runnable {
        override fun run() {
            renderTimer()
            main.postDelayed(this, 1000)
        }
    }
    private var inCall: CallUiState.InCall? = null

    internal lateinit var incoming: LinearLayout
    internal lateinit var caller: TextView
    internal lateinit var accept: Button
    internal lateinit var decline: Button
    internal lateinit var dialing: LinearLayout
    internal lateinit var dialingText: TextView
    internal lateinit var inCallPanel: LinearLayout
    internal lateinit var tiles: VideoTiles
    internal lateinit var timer: TextView
    internal lateinit var controls: LinearLayout
    internal lateinit var mute: Button
    internal lateinit var camera: Button
    internal lateinit var switchCamera: Button
    internal lateinit var speaker: Button
    internal lateinit var hangUp: Button
    internal lateinit var ended: LinearLayout
    internal lateinit var endedText: TextView
    internal lateinit var status: TextView

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        window.addFlags(WindowManager.LayoutParams.FLAG_KEEP_SCREEN_ON)
        scope = CoroutineScope(SupervisorJob() + Demo.background)
        permissions = PermissionGate(this) { denied -> status.text = "Not granted: ${denied.joinToString { it.substringAfterLast('.') }}" }
        pip = HotlinePictureInPicture(this)
        setContentView(buildViews())
        observer = StateObserver(controller.state, ::render)
    }

    override fun onDestroy() {
        main.removeCallbacksAndMessages(null)
        observer.close()
        tiles.clear()
        scope.cancel()
        super.onDestroy()
    }

    override fun onRequestPermissionsResult(requestCode: Int, permissions: Array<out String>, grantResults: IntArray) =
        this.permissions.onResult(requestCode, permissions, grantResults)

    /** Leaving the app during a call shrinks it to picture-in-picture. */
    override fun onUserLeaveHint() {
        super.onUserLeaveHint()
        pip.enter()
    }

    override fun onPictureInPictureModeChanged(isInPictureInPictureMode: Boolean, newConfig: Configuration) {
        super.onPictureInPictureModeChanged(isInPictureInPictureMode, newConfig)
        controls.shown = !isInPictureInPictureMode
        timer.shown = !isInPictureInPictureMode
    }

    private fun buildViews(): LinearLayout {
        caller = label(size = 24f).apply { gravity = Gravity.CENTER }
        accept = button("Accept") { answer() }
        decline = button("Decline") { act { controller.reject() } }
        incoming = column().add(caller).add(row().add(decline, 1f).add(accept, 1f))

        dialingText = label(size = 22f).apply { gravity = Gravity.CENTER }
        dialing = column().add(dialingText).add(button("Cancel") { act { controller.hangup() } })

        timer = label(size = 18f).apply { gravity = Gravity.CENTER }
        val grid = LinearLayout(this).apply { orientation = LinearLayout.VERTICAL }
        tiles = VideoTiles(grid, controller.savedLogin?.userId ?: "me") { view ->
            (view as? HotlineVideoView)?.let { pip.follow(it) }
        }
        mute = button("Mute") { inCall?.let { controller.setMicrophoneMuted(!it.micMuted) } }
        camera = button("Camera off") { inCall?.let { controller.setCameraOn(!it.cameraOn) } }
        switchCamera = button("Switch camera") { controller.switchCamera() }
        speaker = button("Speaker") { inCall?.let { controller.setSpeakerOn(!it.speakerOn) } }
        hangUp = button("Hang up") { act { controller.hangup() } }
        controls = column(0)
            .add(row().add(mute, 1f).add(camera, 1f).add(switchCamera, 1f))
            .add(row().add(speaker, 1f).add(hangUp, 1f))
        inCallPanel = column(0).add(timer).add(grid, 1f).add(controls)

        endedText = label(size = 22f).apply { gravity = Gravity.CENTER }
        ended = column().add(endedText).add(button("Close") { finish() })

        status = label(size = 14f)
        return column(0).add(incoming).add(dialing).add(inCallPanel, 1f).add(ended).add(status)
    }

    /** Show [state]'s panel; leave when there is no call to show. */
    internal fun render(state: CallUiState) {
        incoming.shown = state is CallUiState.Ringing
        dialing.shown = state is CallUiState.Dialing
        inCallPanel.shown = state is CallUiState.InCall
        ended.shown = state is CallUiState.Ended
        inCall = state as? CallUiState.InCall
        main.removeCallbacks(tick)
        when (state) {
            is CallUiState.Ringing -> {
                val group = if (state.isGroup && state.invitees.size > 1) " with ${state.invitees.joinToString(", ")}" else ""
                caller.text = "${state.callerName}\n${Labels.media(state.mediaType)}$group"
            }
            is CallUiState.Dialing -> dialingText.text = "Calling ${state.calleeIds.joinToString(", ")}…\n${Labels.media(state.mediaType)}"
            is CallUiState.InCall -> renderInCall(state)
            is CallUiState.Ended -> {
                tiles.clear()
                val length = if (state.connected) " · ${Labels.duration(state.durationS)}" else ""
                endedText.text = "${Labels.endReason(state.reason)}$length"
                main.postDelayed({ if (controller.state.value is CallUiState.Ended) finish() }, ENDED_SCREEN_MS)
            }
            CallUiState.Idle, CallUiState.SignedOut -> {
                tiles.clear()
                finish()
            }
        }
    }

    private fun renderInCall(state: CallUiState.InCall) {
        val video = state.mediaType == MediaType.VIDEO
        mute.text = if (state.micMuted) "Unmute" else "Mute"
        camera.text = if (state.cameraOn) "Camera off" else "Camera on"
        camera.shown = video
        switchCamera.shown = video
        switchCamera.isEnabled = state.cameraOn
        speaker.text = if (state.speakerOn) "Speaker off" else "Speaker on"
        tiles.render(state)
        renderTimer()
        main.postDelayed(tick, 1000)
    }

    private fun renderTimer() {
        val state = inCall ?: return
        timer.text = Labels.duration((SystemClock.elapsedRealtime() - state.startedAtElapsedMs) / 1000)
    }

    private fun answer() {
        val ringing = controller.state.value as? CallUiState.Ringing ?: return
        permissions.runWith(video = ringing.mediaType == MediaType.VIDEO) { act { controller.accept() } }
    }

    /** Run a Hotline call off the main thread; show its error. */
    private fun act(block: suspend () -> Unit) {
        scope.launch {
            try {
                block()
            } catch (e: Exception) {
                runOnUiThread { status.text = "Failed: ${e.message}" }
            }
        }
    }

    private companion object {
        const val ENDED_SCREEN_MS = 2500L
    }
}
