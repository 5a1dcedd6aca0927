package io.hotline.demo

import java.net.HttpURLConnection
import java.net.URI
import java.net.URL
import java.net.URLEncoder
import org.json.JSONObject

/**
 * A development UserSig from a server started with `--dev-usersig`:
 * `GET /dev/usersig?user_id=ID` on the server's HTTP address. Real apps get
 * UserSigs from their own backend; the endpoint is off by default.
 */
object DevUserSig {
    /** The endpoint for a server URL such as `ws://10.0.2.2:8080/ws` (wss gives https). */
    fun url(serverUrl: String, userId: String): String {
        val uri = URI(serverUrl.trim())
        val scheme = when (uri.scheme?.lowercase()) {
            "wss", "https" -> "https"
            "ws", "http" -> "http"
            else -> throw IllegalArgumentException("the server URL must start with ws:// or wss://")
        }
        val port = if (uri.port == -1) "" else ":${uri.port}"
        val host = uri.host ?: throw IllegalArgumentException("the server URL has no host")
        return "$scheme://$host$port/dev/usersig?user_id=${URLEncoder.encode(userId, "UTF-8")}"
    }

    /** Fetch it (blocking: call off the main thread). Throws with the server's reason on failure. */
    fun fetch(serverUrl: String, userId: String): String {
        val connection = URL(url(serverUrl, userId)).openConnection() as HttpURLConnection
        connection.connectTimeout = 5000
        connection.readTimeout = 5000
        try {
            val ok = connection.responseCode == 200
            val stream = if (ok) connection.inputStream else connection.errorStream
            val body = stream?.bufferedReader()?.use { it.readText() }.orEmpty()
            val json = runCatching { JSONObject(body) }.getOrNull()
            if (!ok) throw IllegalStateException(json?.optString("error")?.ifEmpty { null } ?: "HTTP ${connection.responseCode}")
            return json?.optString("user_sig")?.ifEmpty { null } ?: throw IllegalStateException("no user_sig in the answer")
        } finally {
            connection.disconnect()
        }
    }
}
