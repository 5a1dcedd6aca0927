//! The foreign observer (TUICallEngine's `TUICallObserver`) and the adapter
//! from the engine's `Event` enum to its methods.

use std::sync::Arc;

use hotline_engine::Event;

use crate::{EndReason, MediaType};

/// Receives the engine's events, one method per TUICallEngine callback.
///
/// Implement it in Kotlin or Swift and pass it to `add_observer`. Methods are
/// called on one engine event thread (not your main thread), one at a time,
/// in the order things happened, with no engine lock held: hop to your main
/// thread yourself and return quickly. Calling engine methods from inside a
/// callback is allowed.
#[uniffi::export(with_foreign)]
pub trait CallObserver: Send + Sync {
    /// An invitation arrived. `callee_id_list` is everyone invited (the
    /// caller excluded), including this user; `chat_group_id` is empty unless
    /// the call belongs to a chat group.
    fn on_call_received(
        &self,
        call_id: String,
        caller_id: String,
        callee_id_list: Vec<String>,
        media_type: MediaType,
        user_data: String,
        is_group: bool,
        chat_group_id: String,
    );
    /// The call connected for this user: start media in `room_id`.
    fn on_call_begin(
        &self,
        call_id: String,
        room_id: String,
        media_type: MediaType,
        is_group: bool,
    );
    /// A connected call ended for this user after `total_time_s` whole seconds.
    fn on_call_end(
        &self,
        call_id: String,
        media_type: MediaType,
        reason: EndReason,
        total_time_s: u64,
    );
    /// A call ended for this user before it connected.
    fn on_call_not_connected(&self, call_id: String, media_type: MediaType, reason: EndReason);
    /// The call's media type changed (video to audio).
    fn on_call_media_type_changed(
        &self,
        call_id: String,
        old_media_type: MediaType,
        new_media_type: MediaType,
    );
    /// Someone is being invited.
    fn on_user_inviting(&self, call_id: String, user_id: String);
    /// An invitee rejected.
    fn on_user_reject(&self, call_id: String, user_id: String);
    /// An invitee did not answer in time.
    fn on_user_no_response(&self, call_id: String, user_id: String);
    /// An invitee was busy or ignored the call.
    fn on_user_line_busy(&self, call_id: String, user_id: String);
    /// Someone entered the call.
    fn on_user_join(&self, call_id: String, user_id: String);
    /// Someone left the call.
    fn on_user_leave(&self, call_id: String, user_id: String);
    /// Another login of this user replaced this one; the engine stopped.
    fn on_kicked_offline(&self);
    /// The UserSig expired; log in again with a fresh one.
    fn on_user_sig_expired(&self);
    /// An error not tied to an API call (TUICallEngine-style `code`).
    fn on_error(&self, code: i32, message: String);
}

/// Wraps a foreign observer as an engine observer.
pub(crate) struct Adapter(pub(crate) Arc<dyn CallObserver>);

impl hotline_engine::CallObserver for Adapter {
    fn on_event(&self, event: &Event) {
        deliver(&*self.0, event.clone());
    }
}

/// Call the observer method matching `event`.
pub(crate) fn deliver(o: &dyn CallObserver, event: Event) {
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
        // Media events reach the bindings with the media FFI.
        Event::UserVideoAvailable { .. }
        | Event::UserAudioAvailable { .. }
        | Event::UserVoiceVolumeChanged { .. }
        | Event::UserNetworkQualityChanged { .. } => {}
    }
}
