//! [`preview`] and [`ProgramTest`]: a program against the in-memory provider.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};

use super::graph::{RecordedGraph, RecordedResource, mask, mask_props};
use super::harness::StackHarness;
use super::provider::TestProvider;
use crate::config::{ConfigError, StackConfig, StackFile};
use crate::engine::{EngineOptions, Plan, RenderOptions, plan_update, render_plan};
use crate::error::Error;
use crate::names::{StackName, Urn};
use crate::options::ResourceOptions;
use crate::provider::Provider;
use crate::reference::CannedReferences;
use crate::secrets::SecretsError;
use crate::stack::{ProgramGraph, Stack};
use crate::state::StateView;

/// Where a test's config comes from (read when the test runs).
#[derive(Debug, Clone)]
enum ConfigSource {
    Empty,
    Yaml(String),
    File(PathBuf),
}

/// Runs a program in preview or simulated update; see the module docs.
///
/// Every provider is the in-memory [`TestProvider`] unless the test asks for
/// a real one: providers the program adds itself are replaced (in-memory
/// ones excepted) unless their package is opted in with
/// [`ProgramTest::real_provider`]; [`ProgramTest::with_provider`] gives one.
///
/// ```
/// use std::sync::Arc;
/// use mkso::prelude::*;
///
/// mkso::resource! {
///     /// A bucket in some cloud (for illustration).
///     pub struct Bucket("cloud:storage:Bucket") {
///         args BucketArgs => BucketInputs { region: String }
///         outputs BucketOutputs { region: String }
///     }
/// }
///
/// /// A provider that would call the cloud's API.
/// struct CloudProvider;
/// #[async_trait::async_trait]
/// impl mkso::Provider for CloudProvider {
///     fn package(&self) -> &str { "cloud" }
///     async fn create(&self, _: mkso::provider::CreateRequest) -> Result<mkso::provider::CreateResponse, mkso::ProviderError> {
///         Err(mkso::ProviderError::permanent("this would reach the real cloud"))
///     }
/// }
///
/// fn program(stack: &Stack) -> Result<(), mkso::Error> {
///     // The program registers its own provider (the stack binary uses it).
///     stack.add_provider(None, Arc::new(CloudProvider));
///     Bucket::new(stack, "logs", BucketArgs::default().region("eu"), ResourceOptions::new())?;
///     Ok(())
/// }
///
/// // A unit test: the program's provider is replaced by the in-memory one.
/// let g = mkso::testing::preview(program).up().unwrap();
/// assert_eq!(g.get("logs").unwrap().outputs["id"], "logs-id");
///
/// // Asking for the real provider by its package name: the program's own is used.
/// let e = mkso::testing::preview(program).real_provider("cloud").up().unwrap_err();
/// assert!(e.to_string().contains("this would reach the real cloud"), "{e}");
/// ```
pub struct ProgramTest<F> {
    program: F,
    stack: String,
    project: Option<String>,
    config: ConfigSource,
    secrets: Vec<(String, Value)>,
    /// `config(..)` values on top of a stack file or YAML text.
    overrides: Vec<(String, Value)>,
    provider: TestProvider,
    extra: Vec<Arc<dyn Provider>>,
    real: BTreeSet<String>,
    references: CannedReferences,
}

/// Starts a test run of `program`.
pub fn preview<F>(program: F) -> ProgramTest<F>
where
    F: Fn(&Stack) -> Result<(), Error>,
{
    ProgramTest {
        program,
        stack: "test.Dev".into(),
        project: None,
        config: ConfigSource::Empty,
        secrets: Vec::new(),
        overrides: Vec::new(),
        provider: TestProvider::new(),
        extra: Vec::new(),
        real: BTreeSet::new(),
        references: CannedReferences::default(),
    }
}

impl<F> ProgramTest<F>
where
    F: Fn(&Stack) -> Result<(), Error>,
{
    /// The stack name (default `test.Dev`).
    #[must_use]
    pub fn stack(mut self, name: &str) -> Self {
        self.stack = name.into();
        self
    }

    /// The project name in URNs (default: the `name:` of the `Mkso.yaml`
    /// beside the file given to [`ProgramTest::config_file`], else `test`).
    #[must_use]
    pub fn project(mut self, name: &str) -> Self {
        self.project = Some(name.into());
        self
    }

    /// Config from a stack file's YAML text (instead of any config set before).
    #[must_use]
    pub fn config_yaml(mut self, yaml: &str) -> Self {
        self.config = ConfigSource::Yaml(yaml.into());
        self
    }

    /// Config values as `namespace:key` → value pairs, on top of the config
    /// set before (a stack file or YAML text: these keys override or add to
    /// it, as `MKSO_CONFIG__` variables would), or on their own.
    ///
    /// ```
    /// # use mkso::prelude::*;
    /// # #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// # struct Web { replicas: u32, port: u16 }
    /// # fn program(stack: &Stack) -> Result<(), mkso::Error> {
    /// #     let w: Web = stack.config("web")?;
    /// #     stack.export("replicas", Output::new(w.replicas));
    /// #     stack.export("port", Output::new(w.port));
    /// #     Ok(())
    /// # }
    /// let g = mkso::testing::preview(program)
    ///     .config_yaml("config:\n  web:replicas: 2\n  web:port: 8080\n")
    ///     .config([("web:replicas", serde_json::json!(4))])
    ///     .run()
    ///     .unwrap();
    /// assert_eq!(g.outputs["replicas"], 4);
    /// assert_eq!(g.outputs["port"], 8080);
    /// ```
    #[must_use]
    pub fn config<K: Into<String>>(
        mut self,
        entries: impl IntoIterator<Item = (K, Value)>,
    ) -> Self {
        self.overrides
            .extend(entries.into_iter().map(|(k, v)| (k.into(), v)));
        self
    }

    /// Config from a file (e.g. a stack's real, committed `Mkso.<stack>.yaml`),
    /// read when the test runs. Its sealed (`--secret`) values need no
    /// passphrase when the test gives them with [`ProgramTest::secret_config`]:
    /// those are never decrypted. Another sealed value is decrypted with
    /// `MKSO_PASSPHRASE`, and without it the run fails naming the key.
    ///
    /// Unless [`ProgramTest::project`] is set, the project in URNs is the one
    /// named by the `Mkso.yaml` beside the file, if there is one.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("mkso-doc-config-file-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # std::fs::write(dir.join("Mkso.yaml"), "name: shop\n").unwrap();
    /// # std::fs::write(dir.join("Mkso.shop.QA.yaml"),
    /// #     "config:\n  app:replicas: 2\n  app:password:\n    secure: v1:c2FsdA:bm90LWEtcmVhbC1jaXBoZXJ0ZXh0\n").unwrap();
    /// use mkso::prelude::*;
    /// use mkso::secrets::Secret;
    ///
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct App { replicas: u32, password: Secret<String> }
    ///
    /// fn program(stack: &Stack) -> Result<(), mkso::Error> {
    ///     let app: App = stack.config("app")?;
    ///     stack.export("replicas", Output::new(app.replicas));
    ///     Ok(())
    /// }
    /// // `app:password` is sealed in the file; the test gives its own value.
    /// let g = mkso::testing::preview(program)
    ///     .stack("shop.QA")
    ///     .config_file(&dir.join("Mkso.shop.QA.yaml"))
    ///     .secret_config("app:password", serde_json::json!("test-only"))
    ///     .run()
    ///     .unwrap();
    /// assert_eq!(g.outputs["replicas"], 2);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    #[must_use]
    pub fn config_file(mut self, path: &Path) -> Self {
        self.config = ConfigSource::File(path.to_path_buf());
        self
    }

    /// Adds a secret config value (as `config set --secret` would); it wins
    /// over the key's value in the config, which is then never decrypted.
    #[must_use]
    pub fn secret_config(mut self, key: &str, value: Value) -> Self {
        self.secrets.retain(|(k, _)| k != key);
        self.secrets.push((key.to_string(), value));
        self
    }

    /// Canned outputs (a JSON object) for a stack the program references.
    #[must_use]
    pub fn reference(mut self, stack: &str, outputs: Value) -> Self {
        self.references.insert(stack, outputs, &[]);
        self
    }

    /// A canned secret output of a referenced stack.
    #[must_use]
    pub fn secret_reference_output(mut self, stack: &str, name: &str, value: Value) -> Self {
        self.references
            .insert(stack, json!({ name: value }), &[name]);
        self
    }

    /// Uses this test provider (to override behaviour per type).
    #[must_use]
    pub fn provider(mut self, p: TestProvider) -> Self {
        self.provider = p;
        self
    }

    /// Adds a provider the test gives (the default for its package, in
    /// place of the test provider there). Use it for a real provider only on
    /// purpose: e.g. against an emulator.
    #[must_use]
    pub fn with_provider(mut self, p: Arc<dyn Provider>) -> Self {
        self.extra.push(p);
        self
    }

    /// Opts in to the providers the program adds itself for `package`
    /// (e.g. `"aws"`): they are used as the stack binary would use them, and
    /// may reach a real cloud. Without it, such a provider is replaced by the
    /// in-memory test provider (a [`TestProvider`] the program adds itself is
    /// always kept). See the type's docs for an example.
    #[must_use]
    pub fn real_provider(mut self, package: &str) -> Self {
        self.real.insert(package.to_string());
        self
    }

    /// The project in URNs: the one set, else that of the `Mkso.yaml` beside
    /// the config file, else `test`.
    fn project_name(&self) -> Result<String, Error> {
        if let Some(p) = &self.project {
            return Ok(p.clone());
        }
        if let ConfigSource::File(path) = &self.config {
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            if dir.join(crate::config::PROJECT_FILE).exists() {
                return Ok(crate::config::Project::load(dir)?.file.name);
            }
        }
        Ok("test".into())
    }

    /// The test's config: its source, with the secret values on top.
    fn stack_config(&self) -> Result<StackConfig, Error> {
        // Keys the test gives itself: their sealed values in a file are
        // never decrypted.
        let given: BTreeSet<&str> = self
            .secrets
            .iter()
            .chain(&self.overrides)
            .map(|(k, _)| k.as_str())
            .collect();
        let mut config = match &self.config {
            ConfigSource::Empty => StackConfig::from_map([], "test config"),
            ConfigSource::Yaml(text) => config_from_text(text, "test config", &given)?,
            ConfigSource::File(path) => {
                let sealed = sealed_keys(&StackFile::load(path)?.entries()?);
                if sealed.iter().any(|k| given.contains(k.as_str())) {
                    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
                        action: "read",
                        file: path.clone(),
                        source,
                    })?;
                    config_from_text(&text, &path.display().to_string(), &given)?
                } else {
                    StackConfig::load(path)
                        .map_err(|e| explain_sealed(e, &sealed.iter().collect::<Vec<_>>()))?
                }
            }
        };
        for (k, v) in &self.overrides {
            config = config.with_value(k, v.clone());
        }
        for (k, v) in &self.secrets {
            config = config.with_secret(k, v.clone());
        }
        Ok(config)
    }

    fn run_program(&self, config: StackConfig) -> Result<(StackName, ProgramGraph), Error> {
        let name = StackName::new(&self.stack)?;
        let stack = Stack::new(name.clone(), self.project_name()?, config);
        stack.set_reference_source(Arc::new(self.references.clone()));
        let given = self.given();
        for (n, p) in &given {
            stack.add_provider(n.as_deref(), p.clone());
        }
        (self.program)(&stack)?;
        let mut graph = stack.take_graph();
        graph.providers = super::kit_providers(&given, &graph, None, &self.real)?;
        Ok((name, graph))
    }

    /// The providers the test gives: the test provider, the deterministic
    /// built-in one, then those of `with_provider`.
    fn given(&self) -> Vec<(Option<String>, Arc<dyn Provider>)> {
        let mut v: Vec<(Option<String>, Arc<dyn Provider>)> = vec![
            (None, Arc::new(self.provider.clone())),
            (
                None,
                Arc::new(crate::builtin::BuiltinProvider::deterministic()),
            ),
        ];
        v.extend(self.extra.iter().map(|p| (None, p.clone())));
        v
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    }

    /// The plan against an empty state.
    pub fn plan(&self) -> Result<(ProgramGraph, Plan), Error> {
        self.plan_with(self.stack_config()?)
    }

    fn plan_with(&self, config: StackConfig) -> Result<(ProgramGraph, Plan), Error> {
        let (name, graph) = self.run_program(config)?;
        let view = StateView::empty(name);
        let plan =
            Self::runtime().block_on(plan_update(&graph, &view, &EngineOptions::default()))?;
        Ok((graph, plan))
    }

    /// The preview as the CLI renders it (with property detail).
    pub fn render(&self) -> Result<String, Error> {
        let (_, plan) = self.plan()?;
        Ok(render_plan(
            &plan,
            RenderOptions {
                diff: true,
                show_same: true,
            },
        ))
    }

    /// Previews the program: outputs that depend on resources are unknown.
    pub fn run(&self) -> Result<RecordedGraph, Error> {
        self.run_with(self.stack_config()?)
    }

    fn run_with(&self, config: StackConfig) -> Result<RecordedGraph, Error> {
        let (graph, plan) = self.plan_with(config)?;
        let mut out = BTreeMap::new();
        for (k, v) in &plan.outputs {
            let secret = plan.secret_outputs.contains(k);
            out.insert(
                k.clone(),
                v.as_ref()
                    .map(|v| mask(v, secret))
                    .unwrap_or_else(|| json!("(known after apply)")),
            );
        }
        let mut resources: Vec<RecordedResource> = plan
            .steps
            .iter()
            .map(|s| {
                let d = &graph.resources[s.declared.expect("declared")];
                RecordedResource {
                    urn: s.urn.to_string(),
                    type_token: s.type_token.clone(),
                    name: s.name.clone(),
                    kind: s.kind,
                    parent: s.parent.as_ref().map(|p| p.name().to_string()),
                    inputs: mask_props(
                        s.action.new_inputs().unwrap_or(&Value::Null),
                        &s.input_secrets(),
                    ),
                    options: ResourceOptions {
                        parent: None,
                        depends_on: Vec::new(),
                        ..ResourceOptions::clone(&d.options)
                    },
                    dependencies: s
                        .dependencies
                        .iter()
                        .map(|u| u.name().to_string())
                        .collect(),
                    outputs: s
                        .action
                        .planned_outputs()
                        .map(|v| mask_props(v, &s.output_secrets()))
                        .unwrap_or_else(|| json!("(known after apply)")),
                }
            })
            .collect();
        resources.sort_by(|a, b| a.urn.cmp(&b.urn));
        Ok(RecordedGraph {
            stack: self.stack.clone(),
            resources,
            outputs: out,
        })
    }

    /// Runs a simulated `up` against the test provider and returns the graph
    /// with the outputs the provider returned.
    pub fn up(&self) -> Result<RecordedGraph, Error> {
        let config = self.stack_config()?;
        let preview = self.run_with(config.clone())?;
        let harness = StackHarness::new(&self.stack)?
            .project(&self.project_name()?)
            .config(config);
        let harness = self
            .given()
            .into_iter()
            .fold(harness, |h, (n, p)| h.provider(n.as_deref(), p));
        let harness = self
            .real
            .iter()
            .fold(harness, |h, package| h.real_provider(package));
        let program = |s: &Stack| (self.program)(s);
        let view = Self::runtime().block_on(async {
            let (_, outcome) = harness.up(&program, &EngineOptions::default()).await?;
            if let Some(f) = outcome.failures.first() {
                return Err(Error::Program(format!(
                    "{} of `{}` failed: {}",
                    f.op,
                    f.urn.name(),
                    f.error
                )));
            }
            harness.state().await
        })?;
        let mut g = preview;
        for r in g.resources.iter_mut() {
            if let Some(Some(s)) = Urn::parse(&r.urn).map(|u| view.live.get(&u).cloned()) {
                r.outputs = mask_props(&s.outputs, &s.output_secrets());
                r.inputs = mask_props(&s.inputs, &s.input_secrets());
            }
        }
        g.outputs = view
            .outputs
            .iter()
            .map(|(k, v)| (k.clone(), mask(v, view.secret_outputs.contains(k))))
            .collect();
        Ok(g)
    }
}

/// The keys of sealed (`config set --secret`) values: `{secure: "v1:..."}`.
fn sealed_keys(entries: &BTreeMap<String, Value>) -> BTreeSet<String> {
    entries
        .iter()
        .filter(|(_, v)| {
            v.as_object()
                .is_some_and(|o| o.len() == 1 && o.get("secure").is_some_and(Value::is_string))
        })
        .map(|(k, _)| k.clone())
        .collect()
}

/// Config from a stack file's text whose sealed values of the keys in
/// `given` (which the test gives) are left out, so they are never decrypted.
fn config_from_text(text: &str, file: &str, given: &BTreeSet<&str>) -> Result<StackConfig, Error> {
    let parse = |t: &str| StackConfig::from_yaml_str(t, file);
    let sealed = sealed_keys(&config_entries(text).unwrap_or_default());
    let skip: BTreeSet<String> = sealed
        .iter()
        .filter(|k| given.contains(k.as_str()))
        .cloned()
        .collect();
    let rest: Vec<&String> = sealed.iter().filter(|k| !skip.contains(*k)).collect();
    let config = if skip.is_empty() {
        parse(text)
    } else {
        parse(&without_entries(text, &skip))
    };
    config.map_err(|e| explain_sealed(e, &rest))
}

/// The `config:` entries of a stack file's text (`None`: not a mapping).
fn config_entries(text: &str) -> Option<BTreeMap<String, Value>> {
    let doc: Value = serde_yaml_ng::from_str(text).ok()?;
    let config = doc.get("config")?.as_object()?;
    Some(config.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// The text without the `config:` entries `keys`, every other line as
/// written (so that values read exactly as in the file). Checked by parsing:
/// when the file's layout is not one this line-wise edit understands, the
/// document is written out again without them instead.
fn without_entries(text: &str, keys: &BTreeSet<String>) -> String {
    let expected = || -> Option<Value> {
        let mut doc: Value = serde_yaml_ng::from_str(text).ok()?;
        let config = doc.get_mut("config")?.as_object_mut()?;
        for k in keys {
            config.remove(k);
        }
        Some(doc)
    };
    let Some(expected) = expected() else {
        return text.to_string();
    };
    if let Some(edited) = drop_entry_lines(text, keys)
        && serde_yaml_ng::from_str::<Value>(&edited).ok().as_ref() == Some(&expected)
    {
        return edited;
    }
    serde_yaml_ng::to_string(&expected).unwrap_or_else(|_| text.to_string())
}

/// Drops the lines of the `config:` entries `keys` of a block-style file.
fn drop_entry_lines(text: &str, keys: &BTreeSet<String>) -> Option<String> {
    let indent = |l: &str| l.len() - l.trim_start_matches(' ').len();
    let trivia = |l: &str| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#')
    };
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let start = lines.iter().position(|l| {
        let t = l.trim_end();
        indent(l) == 0
            && t.strip_prefix("config:")
                .is_some_and(|rest| rest.trim().is_empty() || rest.trim().starts_with('#'))
    })?;
    let mut out: String = lines[..=start].concat();
    let mut entry_indent = None;
    let mut skipping: Option<usize> = None;
    for (i, l) in lines.iter().enumerate().skip(start + 1) {
        if !trivia(l) && indent(l) == 0 {
            out.push_str(&lines[i..].concat());
            return Some(out);
        }
        if let Some(ind) = skipping {
            if trivia(l) || indent(l) > ind {
                continue;
            }
            skipping = None;
        }
        if !trivia(l) {
            let ind = indent(l);
            if *entry_indent.get_or_insert(ind) == ind
                && entry_key(l.trim()).is_some_and(|k| keys.contains(&k))
            {
                skipping = Some(ind);
                continue;
            }
        }
        out.push_str(l);
    }
    Some(out)
}

/// The key of a block mapping entry line (`app:password:`, `"app:x": 1`).
fn entry_key(line: &str) -> Option<String> {
    for q in ['"', '\''] {
        if let Some(rest) = line.strip_prefix(q) {
            let end = rest.find(q)?;
            return Some(rest[..end].to_string());
        }
    }
    if let Some(i) = line.find(": ") {
        return Some(line[..i].to_string());
    }
    line.strip_suffix(':').map(str::to_string)
}

/// A sealed value that could not be opened: says how a test gives it instead.
fn explain_sealed(e: ConfigError, sealed: &[&String]) -> Error {
    let ConfigError::Secret { key, file, source } = e else {
        return e.into();
    };
    if sealed.is_empty() || !(key == "encryptionsalt" || sealed.iter().any(|k| **k == key)) {
        return ConfigError::Secret { key, file, source }.into();
    }
    let first = if sealed.iter().any(|k| **k == key) {
        key.clone()
    } else {
        sealed[0].clone()
    };
    let others: Vec<String> = sealed
        .iter()
        .filter(|k| ***k != first)
        .map(|k| format!("`{k}`"))
        .collect();
    let what = if others.is_empty() {
        format!(
            "its sealed value (a test can give it with `.secret_config(\"{first}\", value)` instead, and then needs no passphrase)"
        )
    } else {
        format!(
            "its sealed value, like those of {} (a test can give each with `.secret_config(\"{first}\", value)` instead, and then needs no passphrase),",
            others.join(", ")
        )
    };
    let source = match source {
        SecretsError::NoPassphrase { .. } => SecretsError::NoPassphrase { what },
        SecretsError::WrongPassphrase { .. } => SecretsError::WrongPassphrase { what },
        SecretsError::Malformed { reason, .. } => SecretsError::Malformed { what, reason },
    };
    ConfigError::Secret {
        key: first,
        file,
        source,
    }
    .into()
}
