// Carries a value the compiler cannot prove thread-safe across a concurrency
// boundary, where the framework documents it as safe (a CallKit action
// completed from another thread, PushKit's completion block). Each use says why.

struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value

    init(_ value: Value) {
        self.value = value
    }
}
