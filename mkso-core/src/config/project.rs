//! `Mkso.yaml`: the project's name, description, backend and history settings.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::limits::{read_bounded, shorten_quoted};
use super::{ConfigError, StackConfig};
use crate::names::StackName;

/// The project file's name.
pub const PROJECT_FILE: &str = "Mkso.yaml";

/// Where state is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendSettings {
    /// `file://DIR` or `s3://bucket/prefix`.
    pub url: String,
}

/// History settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistorySettings {
    /// How many updates to keep (default 10).
    pub keep: usize,
}

impl Default for HistorySettings {
    fn default() -> Self {
        HistorySettings { keep: 10 }
    }
}

/// `Mkso.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    /// The project's name.
    pub name: String,
    /// What it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where state is kept (default `file://` to `.mkso/` beside this file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<BackendSettings>,
    /// History settings.
    #[serde(default)]
    pub history: HistorySettings,
    /// What `up` does when a step fails for good: `on_failure` rolls back
    /// (as `up --rollback-on-failure`); `never` (the default) keeps what
    /// was done.
    #[serde(default)]
    pub rollback: RollbackSetting,
}

/// `rollback:` in `Mkso.yaml`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackSetting {
    /// Keep what was done (the default).
    #[default]
    Never,
    /// Revert every change of an update when one of its steps fails.
    OnFailure,
}

/// A loaded project: its directory and `Mkso.yaml`.
#[derive(Debug, Clone)]
pub struct Project {
    /// The directory holding `Mkso.yaml`.
    pub dir: PathBuf,
    /// Its contents.
    pub file: ProjectFile,
}

impl Project {
    /// Loads `Mkso.yaml` from `dir`.
    pub fn load(dir: &Path) -> Result<Project, ConfigError> {
        let path = dir.join(PROJECT_FILE);
        let Some(text) = read_bounded(&path)? else {
            return Err(ConfigError::NoProject {
                dir: dir.to_path_buf(),
            });
        };
        let file: ProjectFile = serde_yaml_ng::from_str(&text).map_err(|e| ConfigError::Parse {
            file: path.clone(),
            message: shorten_quoted(&e.to_string()),
        })?;
        if let Err(message) = crate::names::validate_project_name(&file.name) {
            return Err(ConfigError::Parse {
                file: path,
                message,
            });
        }
        Ok(Project {
            dir: dir.to_path_buf(),
            file,
        })
    }

    /// The path of a stack's config file.
    pub fn stack_file(&self, stack: &StackName) -> PathBuf {
        self.dir.join(format!("Mkso.{stack}.yaml"))
    }

    /// Loads a stack's config (an absent file is an empty config), with the
    /// process environment's overrides. See [`StackFile::load`](super::StackFile::load) for the files
    /// refused.
    pub fn stack_config(&self, stack: &StackName) -> Result<StackConfig, ConfigError> {
        Ok(StackConfig::load(&self.stack_file(stack))?.with_env(std::env::vars()))
    }
}
