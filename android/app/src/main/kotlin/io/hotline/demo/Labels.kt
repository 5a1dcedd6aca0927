package io.hotline.demo

import io.hotline.sdk.CallRecord
import io.hotline.sdk.CallResult
import io.hotline.sdk.EndReason
import io.hotline.sdk.MediaType
import io.hotline.sdk.NetworkQuality
import java.text.SimpleDateFormat
import java.util.Date
import java.util.Locale

/** The words and numbers the screens show. */
object Labels {
    fun media(mediaType: MediaType) = if (mediaType == MediaType.VIDEO) "Video call" else "Audio call"

    /** m:ss, or h:mm:ss from an hour. */
    fun duration(seconds: Long): String {
        val s = seconds.coerceAtLeast(0)
        return if (s >= 3600) String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
        else String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60)
    }

    fun quality(quality: NetworkQuality?): String = when (quality) {
        null, NetworkQuality.UNKNOWN -> "network: ?"
        NetworkQuality.EXCELLENT -> "network: excellent"
        NetworkQuality.GOOD -> "network: good"
        NetworkQuality.POOR -> "network: poor"
        NetworkQuality.BAD -> "network: bad"
        NetworkQuality.VERY_BAD -> "network: very bad"
        NetworkQuality.DOWN -> "network: down"
    }

    fun endReason(reason: EndReason): String = when (reason) {
        EndReason.UNKNOWN -> "Call ended"
        EndReason.HANGUP -> "Call ended"
        EndReason.REJECT -> "Declined"
        EndReason.NO_RESPONSE -> "No answer"
        EndReason.OFFLINE -> "Offline"
        EndReason.LINE_BUSY -> "Line busy"
        EndReason.CANCELED -> "Canceled"
        EndReason.OTHER_DEVICE_ACCEPTED -> "Answered on another device"
        EndReason.OTHER_DEVICE_REJECT -> "Declined on another device"
        EndReason.END_BY_SERVER -> "Ended by the server"
    }

    /** One line of the call history: when, who, what and how long. */
    fun record(record: CallRecord, me: String?): String {
        val others = (listOf(record.callerId) + record.calleeIds).filter { it != me }.distinct()
        val direction = when (record.result) {
            CallResult.MISSED -> "missed"
            CallResult.INCOMING -> "in"
            else -> "out"
        }
        val kind = if (record.mediaType == MediaType.VIDEO) "video" else "audio"
        val whenText = SimpleDateFormat("MMM d HH:mm", Locale.getDefault()).format(Date(record.beginTimeMs))
        val length = if (record.totalTimeS > 0uL) " " + duration(record.totalTimeS.toLong()) else ""
        return "$whenText  $direction $kind  ${others.joinToString(", ")}$length"
    }

    /** "bob, carol" or "bob carol" to ["bob", "carol"]. */
    fun userIds(text: String): List<String> = text.split(',', ' ', '\n').map { it.trim() }.filter { it.isNotEmpty() }.distinct()
}
