//! Hotline engine.
