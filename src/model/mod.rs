//! What a Dockerfile does, beyond its syntax: the one place the rules ask.
//!
//! Rules read the model, never each other:
//! - stages, their shells and which stages ship ([`stages`]);
//! - how BuildKit runs a RUN and what one RUN may do that a later one would notice ([`effects`]);
//! - the file's own style: continuation indent, operator position, newline, escape ([`style`]);
//! - RUN scripts: the one shell reader, a syntax tree ([`shell`]), the commands rules read off it
//!   ([`script`]), the RUNs rules edit with their text mapped to
//!   the source ([`runs`]), and the top-level reading chain-runs uses
//!   ([`top_level`]);
//! - files a RUN downloads, uses or deletes ([`files`]), package-manager facts ([`packages`]) and
//!   which later steps read what a RUN leaves ([`consumers`]);
//! - the runtime catalogue with support windows and the same-version policy ([`catalogue`]);
//! - image references, runtimes and the image catalogue ([`images`]), what dfopt knows about build
//!   images and their apps' needs ([`runtime_data`]), the run-time libraries behind `-dev` packages
//!   ([`native_libs`]), the build context beside the Dockerfile
//!   ([`context`]), what a stage does ([`stage_facts`]) and how the container starts ([`start`]).

pub mod catalogue;
pub mod consumers;
pub mod context;
pub mod effects;
pub mod files;
pub mod images;
pub mod native_libs;
pub mod packages;
pub mod runs;
pub mod runtime_data;
pub mod script;
pub mod shell;
pub mod stage_facts;
pub mod stages;
pub mod start;
pub mod style;
pub mod top_level;
