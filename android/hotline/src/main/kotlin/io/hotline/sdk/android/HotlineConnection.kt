package io.hotline.sdk.android

import android.telecom.Connection
import android.util.Log
import kotlinx.coroutines.launch

/**
 * One call as Telecom sees it. Answer, reject and disconnect from the
 * system UI, a headset button or a car reach the engine here.
 */
class HotlineConnection(val callId: String, val incoming: Boolean) : Connection() {
    init {
        connectionProperties = PROPERTY_SELF_MANAGED
        audioModeIsVoip = true
        connectionCapabilities = CAPABILITY_MUTE
    }

    override fun onShowIncomingCallUi() {
        // Self-managed: Telecom asks the app to show its own incoming-call UI.
        (Hotline.callState.value as? CallUiState.Ringing)?.let { CallNotifications.showIncoming(Hotline.context(), it) }
    }

    override fun onAnswer() = engine("answer") { Hotline.accept() }

    override fun onAnswer(videoState: Int) = onAnswer()

    override fun onReject() = engine("reject") { Hotline.reject() }

    override fun onReject(replyMessage: String?) = onReject()

    override fun onDisconnect() = engine("disconnect") {
        if (Hotline.callState.value is CallUiState.Ringing) Hotline.reject() else Hotline.hangup()
    }

    override fun onAbort() = onDisconnect()

    private fun engine(what: String, block: suspend () -> Unit) {
        Hotline.scope.launch {
            try {
                block()
            } catch (e: Exception) {
                Log.w("Hotline", "Telecom $what failed: ${e.message}")
            }
        }
    }
}
