// The quick start of docs/bindings.md ("Adding Hotline to an Android app"),
// character for character below the package line: QuickStartTest checks that
// the document still shows exactly this code, and runs it against the server.
package io.hotline.sdk.test

import io.hotline.sdk.*
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.launch

/**
 * Logs in as alice and calls bob. Events are collected in [scope], so
 * [showCall] and [hideCall] run on its thread: on Android pass
 * `lifecycleScope` (the main thread).
 */
fun quickStart(
    scope: CoroutineScope,
    engine: HotlineEngine,
    serverUrl: String,                      // e.g. "ws://10.0.2.2:8080/ws" from the emulator
    sigFromYourBackend: String,
    showCall: (callId: String) -> Unit,
    hideCall: (reason: EndReason) -> Unit,
) {
    scope.launch {
        engine.events().collect { event ->      // runs in scope's context, not the engine's thread
            when (event) {
                is CallEvent.CallReceived -> try {
                    engine.accept()
                } catch (e: HotlineException) {
                    println("accept failed with ${e.code}")   // e.g. -1203: the caller cancelled
                }
                is CallEvent.CallBegin -> showCall(event.callId)
                is CallEvent.CallEnd -> hideCall(event.reason)
                else -> {}
            }
        }
    }
    scope.launch {
        try {
            engine.init(EngineConfig(serverUrl = serverUrl, sdkAppId = 1400000000uL,
                                     userId = "alice", userSig = sigFromYourBackend))
            val callId = engine.calls(listOf("bob"), MediaType.VIDEO, CallParams(timeoutS = 30u))
            println("calling bob: $callId")
        } catch (e: HotlineException) {
            println("failed with ${e.code}: ${e.message}")            // e.g. -1302: bad UserSig
        }
    }
}
// When done: cancel the scope (lifecycleScope is cancelled with its lifecycle),
// then call engine.shutdown() (unInit(), then close()) from a coroutine.
