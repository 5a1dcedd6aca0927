package io.hotline.sdk.android

import android.content.Context

/**
 * What the system sees of a call, driven by [CallUiState] transitions on the
 * main thread: the notification, the foreground service, the Telecom
 * connection and the audio mode. Keeping it here makes every path (engine
 * event, push, notification action, Telecom) end the same way.
 */
internal class CallEffects(private val context: Context) {
    fun onTransition(previous: CallUiState, next: CallUiState) {
        val config = Hotline.config
        when (next) {
            is CallUiState.Ringing -> if (previous !is CallUiState.Ringing || previous.callId != next.callId) {
                CallNotifications.showIncoming(context, next)
                HotlineCallService.start(context)
                if (config.useTelecom) TelecomCalls.reportIncoming(context, next)
            }
            is CallUiState.Dialing -> if (previous !is CallUiState.Dialing) {
                HotlineCallService.start(context)
                if (config.useTelecom) TelecomCalls.reportOutgoing(context, next)
            }
            is CallUiState.InCall -> if (previous !is CallUiState.InCall) {
                CallNotifications.cancel(context)
                Hotline.devices.callStarted(next.mediaType)
                Hotline.startCallMedia(next.mediaType)
                HotlineCallService.start(context) // now with the ongoing-call notification
                TelecomCalls.active()
            }
            is CallUiState.Ended -> endCall(previous, next)
            CallUiState.Idle, CallUiState.SignedOut -> if (previous.isActive) {
                endCall(previous, CallUiState.Ended(previous.callIdOrNull.orEmpty(), io.hotline.sdk.EndReason.UNKNOWN, connected = false))
            }
        }
    }

    private fun endCall(previous: CallUiState, ended: CallUiState.Ended) {
        CallNotifications.cancel(context)
        HotlineCallService.stop(context)
        if (previous is CallUiState.InCall) {
            Hotline.stopCallMedia()
            Hotline.devices.callEnded()
        }
        val incoming = previous is CallUiState.Ringing || ended.incoming
        val local = Hotline.endedLocally != null && Hotline.endedLocally == ended.callId
        TelecomCalls.ended(DisconnectCauses.codeFor(ended.reason, incoming = incoming, endedLocally = local), ended.reason.name)
    }
}
