package io.hotline.demo

import android.os.Handler
import android.os.Looper
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.launch

/**
 * Calls [render] on the main thread with the flow's value now and after
 * every change, until [close]. Collected without Dispatchers.Main, so it
 * needs nothing but the framework's main Looper.
 */
class StateObserver<T>(flow: StateFlow<T>, private val render: (T) -> Unit) : AutoCloseable {
    private val main = Handler(Looper.getMainLooper())
    private val scope = CoroutineScope(Job() + Dispatchers.Unconfined)
    @Volatile private var open = true

    init {
        scope.launch {
            flow.collect { value ->
                if (Looper.myLooper() == Looper.getMainLooper()) {
                    if (open) render(value)
                } else {
                    main.post { if (open) render(flow.value) }
                }
            }
        }
    }

    override fun close() {
        open = false
        scope.cancel()
    }
}
