package io.hotline.sdk.android

import android.telecom.DisconnectCause
import io.hotline.sdk.EndReason

/** Which Telecom [DisconnectCause] code tells the system how a call ended. */
object DisconnectCauses {
    fun codeFor(reason: EndReason, incoming: Boolean, endedLocally: Boolean): Int = when (reason) {
        EndReason.HANGUP -> if (endedLocally) DisconnectCause.LOCAL else DisconnectCause.REMOTE
        EndReason.REJECT -> if (incoming) DisconnectCause.REJECTED else DisconnectCause.REMOTE
        EndReason.NO_RESPONSE -> if (incoming) DisconnectCause.MISSED else DisconnectCause.REMOTE
        EndReason.LINE_BUSY -> if (incoming) DisconnectCause.REJECTED else DisconnectCause.BUSY
        EndReason.CANCELED -> if (incoming) DisconnectCause.MISSED else DisconnectCause.LOCAL
        EndReason.OTHER_DEVICE_ACCEPTED -> DisconnectCause.ANSWERED_ELSEWHERE
        EndReason.OTHER_DEVICE_REJECT -> DisconnectCause.REJECTED
        EndReason.OFFLINE -> DisconnectCause.ERROR
        EndReason.END_BY_SERVER -> DisconnectCause.REMOTE
        EndReason.UNKNOWN -> if (endedLocally) DisconnectCause.LOCAL else DisconnectCause.UNKNOWN
    }
}
