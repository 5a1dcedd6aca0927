// Hotline for Android: the SDK (library module :hotline, an AAR) and the demo
// app (:app, an APK). Needs the Android SDK (compileSdk 35) and, for the
// native library, the NDK with cargo-ndk (see docs/android.md). Not run on
// the Linux build machine, which has neither: scripts/build-android.sh builds
// the APK there without Gradle.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "hotline-android"
include(":hotline", ":app")
