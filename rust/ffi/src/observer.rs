//! The foreign observer (TUICallEngine's `TUICallObserver`) and the adapter
//! from the engine's `Event` enum to its methods.

use std::collections::HashMap;
use std::sync::Arc;

use hotline_engine::Event;

use crate::guard::foreign;
use crate::{EndReason, HotlineError, MediaType, NetworkQualityInfo};

/// Receives the engine's events, one method per TUICallEngine callback.
///
/// Implement it in Kotlin or Swift and pass it to `add_observer`. Methods are
/// called on one engine event thread (not your main thread), one at a time,
/// in the order things happened, with no engine lock held: hop to your main
/// thread yourself and return quickly. Calling engine methods from inside a
/// callback is allowed. Methods need not throw; an exception thrown by one
/// is logged and ignored, and later events still arrive.
#[uniffi::export(with_foreign)]
pub trait CallObserver: Send + Sync {
    /// An invitation arrived. `callee_id_list` is everyone invited (the
    /// caller excluded), including this user; `chat_group_id` is empty unless
    /// the call belongs to a chat group.
    #[allow(clippy::too_many_arguments)] // TUICallEngine's signature
    fn on_call_received(
        &self,
        call_id: String,
        caller_id: String,
        callee_id_list: Vec<String>,
        media_type: MediaType,
        user_data: String,
        is_group: bool,
        chat_group_id: String,
    ) -> Result<(), HotlineError>;
    /// The call connected for this user: start media in `room_id`.
    fn on_call_begin(
        &self,
        call_id: String,
        room_id: String,
        media_type: MediaType,
        is_group: bool,
    ) -> Result<(), HotlineError>;
    /// A connected call ended for this user after `total_time_s` whole seconds.
    fn on_call_end(
        &self,
        call_id: String,
        media_type: MediaType,
        reason: EndReason,
        total_time_s: u64,
    ) -> Result<(), HotlineError>;
    /// A call ended for this user before it connected.
    fn on_call_not_connected(
        &self,
        call_id: String,
        media_type: MediaType,
        reason: EndReason,
    ) -> Result<(), HotlineError>;
    /// The call's media type changed (video to audio).
    fn on_call_media_type_changed(
        &self,
        call_id: String,
        old_media_type: MediaType,
        new_media_type: MediaType,
    ) -> Result<(), HotlineError>;
    /// Someone is being invited.
    fn on_user_inviting(&self, call_id: String, user_id: String) -> Result<(), HotlineError>;
    /// An invitee rejected.
    fn on_user_reject(&self, call_id: String, user_id: String) -> Result<(), HotlineError>;
    /// An invitee did not answer in time.
    fn on_user_no_response(&self, call_id: String, user_id: String) -> Result<(), HotlineError>;
    /// An invitee was busy or ignored the call.
    fn on_user_line_busy(&self, call_id: String, user_id: String) -> Result<(), HotlineError>;
    /// Someone entered the call.
    fn on_user_join(&self, call_id: String, user_id: String) -> Result<(), HotlineError>;
    /// Someone left the call.
    fn on_user_leave(&self, call_id: String, user_id: String) -> Result<(), HotlineError>;
    /// Someone in the call turned their camera on or off: show their video
    /// or a placeholder.
    fn on_user_video_available(
        &self,
        call_id: String,
        user_id: String,
        available: bool,
    ) -> Result<(), HotlineError>;
    /// Someone in the call turned their microphone on or off (muted).
    fn on_user_audio_available(
        &self,
        call_id: String,
        user_id: String,
        available: bool,
    ) -> Result<(), HotlineError>;
    /// Speaking levels, a few times per second: `volume_map` maps each user
    /// ID in the call (this user's own included) to 0 (silent) … 100.
    ///
    /// A map, as TUICallEngine's `onUserVoiceVolumeChanged(volumeMap)` on
    /// both platforms: apps look levels up by the user a tile shows
    /// (`volumeMap[userId]`) rather than walking a list, and each user
    /// appears once.
    fn on_user_voice_volume_changed(
        &self,
        call_id: String,
        volume_map: HashMap<String, u32>,
    ) -> Result<(), HotlineError>;
    /// Link quality per user, every two seconds (TUICallEngine's
    /// `onUserNetworkQualityChanged(networkQualityList)`); this user's own
    /// uplink is listed under their own ID.
    fn on_user_network_quality_changed(
        &self,
        call_id: String,
        network_quality_list: Vec<NetworkQualityInfo>,
    ) -> Result<(), HotlineError>;
    /// Another login of this user replaced this one; the engine stopped.
    fn on_kicked_offline(&self) -> Result<(), HotlineError>;
    /// The UserSig expired; log in again with a fresh one.
    fn on_user_sig_expired(&self) -> Result<(), HotlineError>;
    /// An error not tied to an API call (TUICallEngine-style `code`).
    fn on_error(&self, code: i32, message: String) -> Result<(), HotlineError>;
}

/// Wraps a foreign observer as an engine observer.
pub(crate) struct Adapter(pub(crate) Arc<dyn CallObserver>);

impl hotline_engine::CallObserver for Adapter {
    fn on_event(&self, event: &Event) {
        deliver(&*self.0, event.clone());
    }
}

/// Call the observer method matching `event`; an exception thrown by the
/// observer is logged (see `guard`), so the event thread carries on.
pub(crate) fn deliver(o: &dyn CallObserver, event: Event) {
    let name = event.name();
    foreign(name, || call(o, event));
}

fn call(o: &dyn CallObserver, event: Event) -> Result<(), HotlineError> {
    match event {
        Event::CallReceived {
            call_id,
            caller_id,
            callee_ids,
            media_type,
            user_data,
            is_group,
            chat_group_id,
        } => o.on_call_received(
            call_id,
            caller_id,
            callee_ids,
            media_type,
            user_data,
            is_group,
            chat_group_id,
        ),
        Event::CallBegin {
            call_id,
            room_id,
            media_type,
            is_group,
        } => o.on_call_begin(call_id, room_id, media_type, is_group),
        Event::CallEnd {
            call_id,
            media_type,
            reason,
            total_time_s,
        } => o.on_call_end(call_id, media_type, reason, total_time_s),
        Event::CallNotConnected {
            call_id,
            media_type,
            reason,
        } => o.on_call_not_connected(call_id, media_type, reason),
        Event::CallMediaTypeChanged { call_id, old, new } => {
            o.on_call_media_type_changed(call_id, old, new)
        }
        Event::UserInviting { call_id, user_id } => o.on_user_inviting(call_id, user_id),
        Event::UserReject { call_id, user_id } => o.on_user_reject(call_id, user_id),
        Event::UserNoResponse { call_id, user_id } => o.on_user_no_response(call_id, user_id),
        Event::UserLineBusy { call_id, user_id } => o.on_user_line_busy(call_id, user_id),
        Event::UserJoin { call_id, user_id } => o.on_user_join(call_id, user_id),
        Event::UserLeave { call_id, user_id } => o.on_user_leave(call_id, user_id),
        Event::KickedOffline => o.on_kicked_offline(),
        Event::UserSigExpired => o.on_user_sig_expired(),
        Event::Error { code, message } => o.on_error(code.as_i32(), message),
        Event::UserVideoAvailable {
            call_id,
            user_id,
            available,
        } => o.on_user_video_available(call_id, user_id, available),
        Event::UserAudioAvailable {
            call_id,
            user_id,
            available,
        } => o.on_user_audio_available(call_id, user_id, available),
        Event::UserVoiceVolumeChanged { call_id, volumes } => o.on_user_voice_volume_changed(
            call_id,
            volumes
                .into_iter()
                .map(|v| (v.user_id, u32::from(v.volume)))
                .collect(),
        ),
        Event::UserNetworkQualityChanged { call_id, qualities } => o
            .on_user_network_quality_changed(
                call_id,
                qualities.into_iter().map(Into::into).collect(),
            ),
    }
}
