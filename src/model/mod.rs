//! What a Dockerfile does, beyond its syntax: the one place the rules ask.
//!
//! Rules read the model, never each other: stages and their shells ([`stages`]), image references,
//! runtimes and the image catalogue ([`images`]), the build context beside the Dockerfile
//! ([`context`]), what a stage does ([`stage_facts`]) and how the container starts ([`start`]).

pub mod context;
pub mod images;
pub mod runtime_data;
pub mod stage_facts;
pub mod stages;
pub mod start;
