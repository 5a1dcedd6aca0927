//! Hotline call state machine.
