package io.hotline.demo

import android.app.Activity
import android.content.pm.PackageManager
import io.hotline.sdk.android.HotlinePermissions

/**
 * Asks for the runtime permissions a call needs (the SDK's list) before an
 * action, then runs it. A refusal does not stop the call: it goes on
 * without the microphone or camera, and the activity says so.
 */
class PermissionGate(private val activity: Activity, private val onDenied: (List<String>) -> Unit) {
    private var pending: (() -> Unit)? = null

    fun runWith(video: Boolean, action: () -> Unit) {
        val missing = HotlinePermissions.missing(activity, video)
        if (missing.isEmpty()) {
            action()
            return
        }
        pending = action
        activity.requestPermissions(missing.toTypedArray(), REQUEST_CODE)
    }

    /** Forward Activity.onRequestPermissionsResult here. */
    fun onResult(requestCode: Int, permissions: Array<out String>, results: IntArray) {
        if (requestCode != REQUEST_CODE) return
        val denied = permissions.filterIndexed { i, _ -> results.getOrNull(i) != PackageManager.PERMISSION_GRANTED }
        if (denied.isNotEmpty()) onDenied(denied)
        pending?.invoke()
        pending = null
    }

    private companion object {
        const val REQUEST_CODE = 7301
    }
}
