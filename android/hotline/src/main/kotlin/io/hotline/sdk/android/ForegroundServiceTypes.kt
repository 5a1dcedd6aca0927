package io.hotline.sdk.android

import android.Manifest
import android.content.Context
import android.content.pm.PackageManager
import android.content.pm.ServiceInfo
import android.os.Build

/**
 * The foreground service type of a call: always phoneCall, plus microphone
 * and (video calls) camera only when those permissions are granted, since
 * Android 14 throws a SecurityException for a type whose permission is
 * missing.
 */
object ForegroundServiceTypes {
    fun forCall(context: Context, video: Boolean): Int = forCall(
        microphoneGranted = granted(context, Manifest.permission.RECORD_AUDIO),
        cameraGranted = granted(context, Manifest.permission.CAMERA),
        video = video,
    )

    fun forCall(microphoneGranted: Boolean, cameraGranted: Boolean, video: Boolean): Int {
        if (Build.VERSION.SDK_INT < Build.VERSION_CODES.Q) return 0
        var type = ServiceInfo.FOREGROUND_SERVICE_TYPE_PHONE_CALL
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.R) {
            if (microphoneGranted) type = type or ServiceInfo.FOREGROUND_SERVICE_TYPE_MICROPHONE
            if (video && cameraGranted) type = type or ServiceInfo.FOREGROUND_SERVICE_TYPE_CAMERA
        }
        return type
    }

    private fun granted(context: Context, permission: String) =
        context.checkSelfPermission(permission) == PackageManager.PERMISSION_GRANTED
}
