//! UserSig v2 codec (being written).
