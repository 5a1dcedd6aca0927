package io.hotline.sdk.android

import android.app.Service
import android.content.Context
import android.content.Intent
import android.content.pm.ServiceInfo
import android.os.Build
import android.os.IBinder
import android.util.Log
import io.hotline.sdk.MediaType

/**
 * The foreground service that keeps the process alive for one call, from
 * the ring (or the dial) to the end, showing the call's notification:
 * the incoming-call one while it rings, the ongoing-call one after. Each
 * start re-reads [Hotline.callState] and updates the notification and type.
 */
class HotlineCallService : Service() {
    override fun onBind(intent: Intent?): IBinder? = null

    override fun onStartCommand(intent: Intent?, flags: Int, startId: Int): Int {
        val state = Hotline.callState.value
        val notification = CallNotifications.forState(this, state)
        if (notification == null) {
            stopForeground(STOP_FOREGROUND_REMOVE)
            stopSelf()
            return START_NOT_STICKY
        }
        val video = when (state) {
            is CallUiState.Ringing -> state.mediaType == MediaType.VIDEO
            is CallUiState.Dialing -> state.mediaType == MediaType.VIDEO
            is CallUiState.InCall -> state.mediaType == MediaType.VIDEO
            else -> false
        }
        val type = ForegroundServiceTypes.forCall(this, video)
        try {
            startForegroundOfType(notification, type)
        } catch (e: SecurityException) {
            // Camera and microphone types are refused while the app is in the background.
            Log.w("Hotline", "foreground service type $type refused (${e.message}); phoneCall only")
            startForegroundOfType(notification, ForegroundServiceTypes.forCall(false, false, false))
        }
        return START_NOT_STICKY
    }

    private fun startForegroundOfType(notification: android.app.Notification, type: Int) {
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.Q) {
            startForeground(CallNotifications.CALL_NOTIFICATION_ID, notification, type)
        } else {
            startForeground(CallNotifications.CALL_NOTIFICATION_ID, notification)
        }
    }

    companion object {
        /** Start the service, or make a running one refresh its notification. */
        fun start(context: Context) {
            val intent = Intent(context, HotlineCallService::class.java)
            try {
                context.startForegroundService(intent)
            } catch (e: IllegalStateException) {
                Log.w("Hotline", "cannot start the call service: ${e.message}")
            }
        }

        fun stop(context: Context) {
            context.stopService(Intent(context, HotlineCallService::class.java))
        }

        /** The phoneCall type alone (for callers that need the constant). */
        val PHONE_CALL_TYPE: Int
            get() = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.Q) ServiceInfo.FOREGROUND_SERVICE_TYPE_PHONE_CALL else 0
    }
}
