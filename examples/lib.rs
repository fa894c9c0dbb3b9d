//! Small, documented mkso programs.
//!
//! - [`web_tier`]: a component (`WebTier`) grouping built-in resources, with
//!   outputs, used by a program that reads typed config.

pub mod web_tier;
