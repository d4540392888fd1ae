//! The rule flags `fix`, `check` and `verify` share, defined once and flattened into each command.

use crate::config::{FinalImage, Overrides};
use clap::Args;

/// The rule choices `fix`, `check` and `verify` share.
#[derive(Args, Debug, Default, Clone)]
pub struct RuleArgs {
    /// Also apply fixes that may change behaviour.
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Only these rules (comma-separated; ALL for every rule).
    #[arg(long, value_delimiter = ',')]
    pub select: Option<Vec<String>>,
    /// Skip these rules (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Final image family for multi-stage rewrites.
    #[arg(long = "final", value_enum)]
    pub final_image: Option<FinalArg>,
    /// Merge RUNs and add cache cleanup in build stages that do not ship, too.
    #[arg(long)]
    pub merge_build_stages: bool,
}

impl RuleArgs {
    /// What these flags override in the configuration.
    pub fn overrides(&self, isolated: bool) -> Overrides {
        Overrides {
            select: self.select.clone(),
            ignore: self.ignore.clone(),
            unsafe_fixes: self.unsafe_fixes,
            final_image: self.final_image.map(|f| match f {
                FinalArg::Distroless => FinalImage::Distroless,
                FinalArg::Alpine => FinalImage::Alpine,
                FinalArg::Slim => FinalImage::Slim,
            }),
            merge_build_stages: self.merge_build_stages,
            fail_level: None,
            isolated,
            ..Default::default()
        }
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum FinalArg {
    Distroless,
    Alpine,
    Slim,
}
