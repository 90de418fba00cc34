//! What several test files of the server share.

pub mod section9;
