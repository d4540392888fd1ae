//! Dockerfiles the editor tests (tests/lsp.rs, tests/editor_nvim.rs) open.

/// A Dockerfile with characters outside the BMP and two-byte ones before and on the lines that
/// the fixes touch, so that UTF-16 columns differ from byte and character columns.
pub const UNICODE: &str = concat!(
    "FROM debian:12\n",
    "LABEL description=\"Café 🐳 ünï\"\n",
    "RUN echo \"héllo 🐳\" > /greeting\n",
    "RUN apt-get update\n",
    "RUN apt-get install -y curl\n",
    "RUN pip install requests\n",
);
pub const SEED: &str = include_str!("../../examples/seed-node/Dockerfile");
