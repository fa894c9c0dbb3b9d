//! The `aws` config namespace.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Provider configuration, read from the stack's `aws:` keys.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    /// The region, e.g. `eu-west-1`.
    pub region: String,
    /// An endpoint URL (an emulator); else `AWS_ENDPOINT_URL`, else AWS's.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Tags added to every taggable resource.
    #[serde(default, rename = "defaultTags")]
    pub default_tags: BTreeMap<String, String>,
}
