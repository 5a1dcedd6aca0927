package io.hotline.sdk.android

import android.telecom.Connection
import android.telecom.ConnectionRequest
import android.telecom.ConnectionService
import android.telecom.PhoneAccountHandle
import android.telecom.TelecomManager
import android.telecom.VideoProfile
import io.hotline.sdk.MediaType
import android.util.Log

/**
 * The self-managed ConnectionService: Telecom asks it for the connection of
 * each call Hotline reported (addNewIncomingCall, placeCall).
 */
class HotlineConnectionService : ConnectionService() {
    override fun onCreateIncomingConnection(account: PhoneAccountHandle?, request: ConnectionRequest): Connection {
        val extras = request.extras
        val callId = extras?.getString(TelecomCalls.EXTRA_CALL_ID) ?: Hotline.callState.value.callIdOrNull.orEmpty()
        val connection = HotlineConnection(callId, incoming = true)
        @Suppress("DEPRECATION")
        val address = request.address ?: extras?.getParcelable<android.net.Uri>(TelecomManager.EXTRA_INCOMING_CALL_ADDRESS)
        connection.setAddress(address, TelecomManager.PRESENTATION_ALLOWED)
        connection.setCallerDisplayName(extras?.getString(TelecomCalls.EXTRA_CALLER), TelecomManager.PRESENTATION_ALLOWED)
        connection.videoState = videoState(request)
        TelecomCalls.attach(connection)
        return connection
    }

    /** The request's video state, or the call's own when Telecom passed none. */
    private fun videoState(request: ConnectionRequest): Int {
        if (request.videoState != VideoProfile.STATE_AUDIO_ONLY) return request.videoState
        val media = when (val state = Hotline.callState.value) {
            is CallUiState.Ringing -> state.mediaType
            is CallUiState.Dialing -> state.mediaType
            is CallUiState.InCall -> state.mediaType
            else -> MediaType.AUDIO
        }
        return if (media == MediaType.VIDEO) VideoProfile.STATE_BIDIRECTIONAL else VideoProfile.STATE_AUDIO_ONLY
    }

    override fun onCreateOutgoingConnection(account: PhoneAccountHandle?, request: ConnectionRequest): Connection {
        val connection = HotlineConnection(Hotline.callState.value.callIdOrNull.orEmpty(), incoming = false)
        connection.setAddress(request.address, TelecomManager.PRESENTATION_ALLOWED)
        connection.videoState = videoState(request)
        TelecomCalls.attach(connection)
        return connection
    }

    override fun onCreateIncomingConnectionFailed(account: PhoneAccountHandle?, request: ConnectionRequest?) {
        // Another app's call may hold the line; the call still rings through the notification.
        Log.w("Hotline", "Telecom could not create the incoming connection")
    }

    override fun onCreateOutgoingConnectionFailed(account: PhoneAccountHandle?, request: ConnectionRequest?) {
        Log.w("Hotline", "Telecom could not create the outgoing connection")
    }
}
