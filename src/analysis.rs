//! Moved to [`crate::model::stages`]; this path stays until every user imports the model.

pub use crate::model::stages::*;
