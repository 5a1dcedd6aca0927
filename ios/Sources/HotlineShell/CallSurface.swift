// Where calls are shown: CallKit, or (where CallKit is not allowed, mainland
// China) the app's own notification and incoming-call screen.

import Foundation

/// Which UI shows calls, with what it needs.
public enum CallSurface {
    /// The system call UI: incoming calls reported to CallKit, the app's
    /// buttons sent as CallKit transactions, audio activated by CallKit.
    case callKit(provider: CallReporting, controller: CallRequesting)
    /// No CallKit: a local notification and the app's own screen; the
    /// coordinator activates the audio session itself. VoIP pushes cannot be
    /// used (PushKit requires CallKit): register an `apns` alert token.
    case appScreen(alerter: IncomingCallAlerting)
}

/// Whether CallKit may be used.
public enum CallKitPolicy {
    /// Apps in the App Store's China storefront may not use CallKit. Pass the
    /// region the app decides by (its storefront's, or the device's region
    /// code from `Locale.current`): "CN" is mainland China. Hong Kong, Macao
    /// and Taiwan have their own codes and use CallKit.
    public static func callKitAllowed(regionCode: String?) -> Bool {
        regionCode?.uppercased() != "CN"
    }
}
