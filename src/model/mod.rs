//! What a Dockerfile does, beyond its syntax: the one place the rules ask.
//!
//! Rules read the model, never each other: stages and their shells ([`stages`]), image references,
//! runtimes and the image catalogue ([`images`]), what dfopt knows about build images and their
//! apps' needs ([`runtime_data`]), the build context beside the Dockerfile ([`context`]), what a
//! stage does ([`stage_facts`]) and how the container starts ([`start`]).
//!
//! [`runtime_data`] loads its table with the rules' data helpers (`passes::rule_data`,
//! `passes::str_list`), and [`stage_facts`] still splits RUN text with `crate::shell`: both go when
//! those helpers and the shell reader live in the model.

pub mod context;
pub mod images;
pub mod runtime_data;
pub mod stage_facts;
pub mod stages;
pub mod start;
