//! What dfopt knows about images and runtimes.

pub mod catalogue;
