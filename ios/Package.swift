// swift-tools-version:5.9
// Hotline's Swift package: the UniFFI-generated Swift (module HotlineSDK)
// over a static xcframework of the Rust engine (module HotlineSDKFFI), and
// the iOS shell (module HotlineShell: the call coordinator, and CallKit,
// PushKit, audio, camera and video adapters; see docs/ios.md).
// scripts/build-ios.sh writes Frameworks/HotlineSDKFFI.xcframework and
// Sources/HotlineSDK/Generated/HotlineSDK.swift before this package builds.
// Not built on the Linux build machine (no Xcode there); see docs/bindings.md.
import PackageDescription

let package = Package(
    name: "HotlineSDK",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "HotlineSDK", targets: ["HotlineSDK"]),
        .library(name: "HotlineShell", targets: ["HotlineShell"]),
    ],
    targets: [
        .binaryTarget(name: "HotlineSDKFFI", path: "Frameworks/HotlineSDKFFI.xcframework"),
        .target(
            name: "HotlineSDK",
            dependencies: ["HotlineSDKFFI"],
            path: "Sources/HotlineSDK"
        ),
        .target(
            name: "HotlineShell",
            dependencies: ["HotlineSDK"],
            path: "Sources/HotlineShell"
        ),
        // Tests/HotlineShellTests is not a target here: the xcframework has
        // only iOS slices, and the tests start `hotline phone` processes.
        // tests/swift/run.sh builds and runs them on Linux with a real server.
    ]
)
