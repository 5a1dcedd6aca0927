package io.hotline.sdk.android

import android.content.Context
import android.net.Uri
import android.os.Bundle
import android.telecom.DisconnectCause
import android.telecom.TelecomManager
import android.telecom.VideoProfile
import android.util.Log
import io.hotline.sdk.MediaType

/**
 * The bridge between Hotline's call and Telecom's Connection (one call at a
 * time): asks Telecom for a connection when a call rings or is placed, and
 * moves that connection along as [CallEffects] reports the call's states.
 * All on the main thread.
 */
object TelecomCalls {
    const val EXTRA_CALL_ID = "io.hotline.sdk.telecom.CALL_ID"
    const val EXTRA_CALLER = "io.hotline.sdk.telecom.CALLER"

    /** The connection of the current call, once Telecom created it. */
    var current: HotlineConnection? = null
        private set

    fun reportIncoming(context: Context, ringing: CallUiState.Ringing) {
        val telecom = context.getSystemService(TelecomManager::class.java) ?: return
        val extras = Bundle().apply {
            putParcelable(TelecomManager.EXTRA_PHONE_ACCOUNT_HANDLE, TelecomAccount.handle(context))
            putString(EXTRA_CALL_ID, ringing.callId)
            putString(EXTRA_CALLER, ringing.callerName.ifEmpty { ringing.callerId })
            putParcelable(TelecomManager.EXTRA_INCOMING_CALL_ADDRESS, Uri.fromParts(TelecomAccount.URI_SCHEME, ringing.callerId, null))
            putInt(TelecomManager.EXTRA_INCOMING_VIDEO_STATE, videoState(ringing.mediaType))
        }
        try {
            telecom.addNewIncomingCall(TelecomAccount.handle(context), extras)
        } catch (e: SecurityException) {
            Log.w("Hotline", "Telecom refused the incoming call: ${e.message}")
        }
    }

    fun reportOutgoing(context: Context, dialing: CallUiState.Dialing) {
        val telecom = context.getSystemService(TelecomManager::class.java) ?: return
        val extras = Bundle().apply {
            putParcelable(TelecomManager.EXTRA_PHONE_ACCOUNT_HANDLE, TelecomAccount.handle(context))
            putInt(TelecomManager.EXTRA_START_CALL_WITH_VIDEO_STATE, videoState(dialing.mediaType))
        }
        try {
            telecom.placeCall(Uri.fromParts(TelecomAccount.URI_SCHEME, dialing.calleeIds.joinToString(","), null), extras)
        } catch (e: SecurityException) {
            Log.w("Hotline", "Telecom refused the outgoing call: ${e.message}")
        }
    }

    /** Telecom created the connection: bring it up to the call's present state. */
    internal fun attach(connection: HotlineConnection) {
        current?.takeIf { it !== connection }?.let { it.setDisconnected(DisconnectCause(DisconnectCause.OTHER)); it.destroy() }
        current = connection
        when (val state = Hotline.callState.value) {
            is CallUiState.Ringing -> connection.setRinging()
            is CallUiState.Dialing -> connection.setDialing()
            is CallUiState.InCall -> connection.setActive()
            else -> ended(DisconnectCause.UNKNOWN, "no call: ${state::class.simpleName}")
        }
    }

    internal fun reset() {
        current = null
    }

    fun active() {
        current?.setActive()
    }

    fun ended(code: Int, reason: String) {
        val connection = current ?: return
        current = null
        connection.setDisconnected(DisconnectCause(code, reason))
        connection.destroy()
    }

    private fun videoState(mediaType: MediaType) =
        if (mediaType == MediaType.VIDEO) VideoProfile.STATE_BIDIRECTIONAL else VideoProfile.STATE_AUDIO_ONLY
}
