//! What [`crate::CallCore::poll_output`] hands back to the IO layer.

use hotline_proto::{CallRecord, ClientFrame, IceServer, MediaTrack};

use crate::error::CoreError;
use crate::event::Event;

/// One output of the state machine.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Write this frame to the WebSocket (as JSON text).
    Send(ClientFrame),
    /// Deliver this event to observers, in order.
    Event(Event),
    /// The command with this `id` finished (exactly once per command).
    CommandDone {
        /// The id given with [`crate::Input::Command`].
        id: u64,
        /// What came of it.
        result: Result<CommandOk, CoreError>,
    },
    /// A login attempt finished (once per [`crate::Input::Connected`] that got an answer).
    LoginDone(Result<(), CoreError>),
    /// The TURN relays (and credentials) media connections may use from now
    /// on; given after a login whose list differs from the last one.
    IceServers(Vec<IceServer>),
    /// Drop the transport (then feed [`crate::Input::Disconnected`]); reconnect
    /// later if `reconnect`, else stay down for good.
    Disconnect {
        /// Whether the IO layer should reconnect (with backoff).
        reconnect: bool,
    },
    /// The SFU offers the subscriber connection of the current call (the
    /// engine's media layer answers with [`crate::Command::MediaAnswer`]).
    MediaOffer {
        /// The call.
        call_id: String,
        /// The offer's revision, to echo in the answer.
        revision: u64,
        /// The SDP offer.
        sdp: String,
        /// Whose track each `mid` carries.
        tracks: Vec<MediaTrack>,
    },
    /// Nothing more for now: call `handle(Input::Tick, at_ms)` at `at_ms`
    /// (or earlier, with any other input).
    Timeout(u64),
}

/// What a successful command returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandOk {
    /// The call the command acted on, when the server named one (always for `Calls` and `Join`).
    pub call_id: Option<String>,
    /// Call records (for `QueryRecentCalls`).
    pub records: Vec<CallRecord>,
    /// The SFU's SDP answer (for `MediaPublish`).
    pub sdp: Option<String>,
}
