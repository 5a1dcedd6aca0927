// NSLock.withLock needs iOS 16 / macOS 13; the package supports iOS 15.

import Foundation

extension NSLock {
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}
