package io.hotline.sdk.android

import io.hotline.sdk.CallEvent

/**
 * The call screen's state machine: the next [CallUiState] after an engine
 * event. Pure (no Android, no engine), so it is unit-tested on its own.
 * Events about another call than the one shown are ignored, except a new
 * invitation when no call is active.
 */
object CallStateReducer {
    fun reduce(state: CallUiState, event: CallEvent, nowElapsedMs: Long): CallUiState {
        val current = state.callIdOrNull
        fun mine(callId: String) = current == callId || (state is CallUiState.Dialing && state.callId.isEmpty())
        return when (event) {
            is CallEvent.CallReceived -> when {
                state is CallUiState.Ringing && state.callId == event.callId ->
                    state.copy(callerId = event.callerId, mediaType = event.mediaType, isGroup = event.isGroup, confirmed = true)
                state.isActive -> state
                else -> CallUiState.Ringing(
                    callId = event.callId, callerId = event.callerId, callerName = event.callerId,
                    mediaType = event.mediaType, isGroup = event.isGroup,
                    invitees = event.calleeIdList, confirmed = true,
                )
            }
            is CallEvent.UserInviting -> state
            is CallEvent.UserJoin -> when {
                !mine(event.callId) -> state
                state is CallUiState.Ringing -> state.copy(joined = state.joined + event.userId)
                state is CallUiState.Dialing -> state.copy(callId = event.callId, joined = state.joined + event.userId)
                state is CallUiState.InCall && event.userId !in state.remoteUserIds ->
                    state.copy(remoteUserIds = state.remoteUserIds + event.userId)
                else -> state
            }
            is CallEvent.UserLeave -> if (state is CallUiState.InCall && state.callId == event.callId) {
                state.copy(remoteUserIds = state.remoteUserIds - event.userId, remoteVideoOn = state.remoteVideoOn - event.userId)
            } else state
            is CallEvent.CallBegin -> {
                if (!mine(event.callId) && state.isActive) return state
                val remote = when (state) {
                    is CallUiState.Ringing -> (listOf(state.callerId) + state.joined).distinct()
                    is CallUiState.Dialing -> if (state.joined.isEmpty()) state.calleeIds else state.joined.toList()
                    else -> emptyList()
                }
                CallUiState.InCall(
                    callId = event.callId, mediaType = event.mediaType, isGroup = event.isGroup,
                    remoteUserIds = remote, startedAtElapsedMs = nowElapsedMs,
                )
            }
            is CallEvent.CallEnd -> if (mine(event.callId)) {
                CallUiState.Ended(event.callId, event.reason, connected = true, durationS = event.totalTimeS.toLong())
            } else state
            is CallEvent.CallNotConnected -> if (mine(event.callId)) {
                CallUiState.Ended(event.callId, event.reason, connected = false, incoming = state is CallUiState.Ringing)
            } else state
            is CallEvent.CallMediaTypeChanged -> if (state is CallUiState.InCall && state.callId == event.callId) {
                state.copy(mediaType = event.newMediaType)
            } else state
            is CallEvent.UserVideoAvailable -> if (state is CallUiState.InCall && state.callId == event.callId) {
                state.copy(remoteVideoOn = if (event.available) state.remoteVideoOn + event.userId else state.remoteVideoOn - event.userId)
            } else state
            is CallEvent.UserNetworkQualityChanged -> if (state is CallUiState.InCall && state.callId == event.callId) {
                state.copy(networkQuality = state.networkQuality + event.networkQualityList.associate { it.userId to it.quality })
            } else state
            is CallEvent.KickedOffline, is CallEvent.UserSigExpired -> CallUiState.SignedOut
            else -> state
        }
    }
}
