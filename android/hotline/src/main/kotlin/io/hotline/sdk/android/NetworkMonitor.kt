package io.hotline.sdk.android

import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.util.Log
import io.hotline.sdk.HotlineEngine

/**
 * Tells the engine when the default network changes (Wi-Fi to cellular and
 * back), so it reconnects and restarts media at once instead of waiting for
 * timeouts. The first callback (the network present at start) is not a change.
 */
internal class NetworkMonitor(private val context: Context, private val onChange: () -> Unit) {
    private var current: Network? = null
    private var started = false
    private val callback = object : ConnectivityManager.NetworkCallback() {
        override fun onAvailable(network: Network) {
            val previous = current
            current = network
            if (started && previous != null && previous != network) onChange()
            started = true
        }

        override fun onLost(network: Network) {
            if (network == current) {
                current = null
                onChange()
            }
        }

        override fun onCapabilitiesChanged(network: Network, caps: NetworkCapabilities) {}
    }

    fun start() {
        val cm = context.getSystemService(ConnectivityManager::class.java) ?: return
        try {
            cm.registerDefaultNetworkCallback(callback)
        } catch (e: RuntimeException) {
            Log.w("Hotline", "cannot watch network changes: ${e.message}")
        }
    }

    fun stop() {
        val cm = context.getSystemService(ConnectivityManager::class.java) ?: return
        runCatching { cm.unregisterNetworkCallback(callback) }
    }
}

/**
 * The one place the SDK calls the engine's network-change hook
 * (HotlineEngine.notifyNetworkChanged, in rust/ffi).
 */
internal fun HotlineEngine.notifyNetworkChangedSafely() {
    try {
        notifyNetworkChanged()
    } catch (e: Exception) {
        Log.w("Hotline", "notifyNetworkChanged failed: ${e.message}")
    }
}
