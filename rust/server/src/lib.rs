//! Hotline server.
