package io.hotline.sdk.android

import io.hotline.sdk.EndReason
import io.hotline.sdk.MediaType
import io.hotline.sdk.NetworkQuality

/** What the call screen shows: one value at a time, in [Hotline.callState]. */
sealed class CallUiState {
    /** Nobody is logged in. */
    data object SignedOut : CallUiState()

    /** Logged in, no call. */
    data object Idle : CallUiState()

    /** An incoming call rings. [confirmed] is false while it is known only from a push. */
    data class Ringing(
        val callId: String,
        val callerId: String,
        val callerName: String,
        val mediaType: MediaType,
        val isGroup: Boolean,
        val invitees: List<String> = emptyList(),
        val confirmed: Boolean = true,
        val deadlineMs: Long = 0,
        val joined: Set<String> = emptySet(),
    ) : CallUiState()

    /** This user calls; nobody has answered yet. [callId] is empty until the server assigns it. */
    data class Dialing(
        val callId: String,
        val calleeIds: List<String>,
        val mediaType: MediaType,
        val isGroup: Boolean,
        val joined: Set<String> = emptySet(),
    ) : CallUiState()

    /** The call is connected. */
    data class InCall(
        val callId: String,
        val mediaType: MediaType,
        val isGroup: Boolean,
        val remoteUserIds: List<String>,
        val startedAtElapsedMs: Long,
        val micMuted: Boolean = false,
        val cameraOn: Boolean = mediaType == MediaType.VIDEO,
        val frontCamera: Boolean = true,
        val speakerOn: Boolean = mediaType == MediaType.VIDEO,
        val networkQuality: Map<String, NetworkQuality> = emptyMap(),
        val remoteVideoOn: Set<String> = emptySet(),
    ) : CallUiState()

    /** The last call ended; [connected] says whether it had begun. */
    data class Ended(
        val callId: String,
        val reason: EndReason,
        val connected: Boolean,
        val durationS: Long = 0,
        val incoming: Boolean = false,
    ) : CallUiState()
}

/** The call this state is about, or null. */
val CallUiState.callIdOrNull: String?
    get() = when (this) {
        is CallUiState.Ringing -> callId
        is CallUiState.Dialing -> callId
        is CallUiState.InCall -> callId
        is CallUiState.Ended -> callId
        else -> null
    }

/** Whether a call is ringing, dialing or connected. */
val CallUiState.isActive: Boolean
    get() = this is CallUiState.Ringing || this is CallUiState.Dialing || this is CallUiState.InCall
