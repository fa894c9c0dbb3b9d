//! Records written by an older version of a resource type (a field since
//! made required, a `null` where a value is now expected) do not strand the
//! resource: update, refresh and delete read what the cloud says instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use mkso::ProviderError;
use mkso::engine::EngineOptions;
use mkso::prelude::*;
use mkso::state::{Backend, LocalBackend};
use mkso::testing::StackHarness;
use mkso::typed::{Change, Created, Ctx, Observed, ProviderState, TypedProvider};
use serde::{Deserialize, Serialize};

/// The "cloud": note id → text.
#[derive(Clone, Default)]
struct Notes(Arc<Mutex<HashMap<String, String>>>);
impl ProviderState for Notes {}

impl Notes {
    fn text(&self, id: &str) -> Result<String, ProviderError> {
        let m = self.0.lock().unwrap();
        m.get(id)
            .cloned()
            .ok_or_else(|| ProviderError::not_found(format!("no note {id}")))
    }
    fn put(&self, id: &str, text: &str) {
        self.0.lock().unwrap().insert(id.into(), text.into());
    }
}

mod v1 {
    use super::*;

    /// A note, as version 1 of the type knew it.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
    #[mkso(type = "local:notes:Note", resource = Note, outputs = NoteOutputs)]
    pub struct NoteInputs {
        /// Its text.
        pub text: String,
    }

    /// Version 1 recorded no length.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
    #[mkso(resource = Note)]
    pub struct NoteOutputs {
        /// Unknown in version 1.
        pub len: Option<u64>,
    }

    #[mkso::async_trait]
    impl mkso::typed::CustomResource<Notes> for Note {
        async fn create(
            cx: &Ctx<'_, Notes>,
            i: &NoteInputs,
        ) -> Result<Created<NoteOutputs>, ProviderError> {
            cx.provider.put(cx.name(), &i.text);
            Ok(Created {
                id: cx.name().to_string(),
                outputs: NoteOutputs { len: None },
            })
        }
        async fn read(
            cx: &Ctx<'_, Notes>,
            id: &str,
            _: Option<&NoteInputs>,
        ) -> Result<Observed<NoteInputs, NoteOutputs>, ProviderError> {
            let text = cx.provider.text(id)?;
            Ok(Observed {
                id: id.into(),
                inputs: Some(NoteInputs { text }),
                outputs: NoteOutputs { len: None },
            })
        }
        async fn update(
            cx: &Ctx<'_, Notes>,
            c: Change<'_, NoteInputs, NoteOutputs>,
        ) -> Result<NoteOutputs, ProviderError> {
            cx.provider.put(c.id, &c.new.text);
            Ok(NoteOutputs { len: None })
        }
        async fn delete(
            cx: &Ctx<'_, Notes>,
            id: &str,
            _: &NoteInputs,
            _: &NoteOutputs,
        ) -> Result<(), ProviderError> {
            cx.provider.0.lock().unwrap().remove(id);
            Ok(())
        }
    }
}

mod v2 {
    use super::*;

    /// Version 2: an owner is required; the length is always known.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
    #[mkso(type = "local:notes:Note", resource = Note, outputs = NoteOutputs)]
    pub struct NoteInputs {
        /// Its text.
        pub text: String,
        /// Who owns it (new in version 2, kept in the text's first line).
        pub owner: String,
    }

    /// What version 2 reports.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
    #[mkso(resource = Note)]
    pub struct NoteOutputs {
        /// The text's length.
        #[mkso(computed)]
        pub len: u64,
    }

    fn observed(id: &str, stored: &str) -> Observed<NoteInputs, NoteOutputs> {
        let (owner, text) = stored.split_once('\n').unwrap_or(("nobody", stored));
        Observed {
            id: id.into(),
            inputs: Some(NoteInputs {
                text: text.into(),
                owner: owner.into(),
            }),
            outputs: NoteOutputs {
                len: text.len() as u64,
            },
        }
    }

    #[mkso::async_trait]
    impl mkso::typed::CustomResource<Notes> for Note {
        async fn create(
            cx: &Ctx<'_, Notes>,
            i: &NoteInputs,
        ) -> Result<Created<NoteOutputs>, ProviderError> {
            cx.provider
                .put(cx.name(), &format!("{}\n{}", i.owner, i.text));
            Ok(Created {
                id: cx.name().to_string(),
                outputs: NoteOutputs {
                    len: i.text.len() as u64,
                },
            })
        }
        async fn read(
            cx: &Ctx<'_, Notes>,
            id: &str,
            _: Option<&NoteInputs>,
        ) -> Result<Observed<NoteInputs, NoteOutputs>, ProviderError> {
            Ok(observed(id, &cx.provider.text(id)?))
        }
        async fn update(
            cx: &Ctx<'_, Notes>,
            c: Change<'_, NoteInputs, NoteOutputs>,
        ) -> Result<NoteOutputs, ProviderError> {
            cx.provider
                .put(c.id, &format!("{}\n{}", c.new.owner, c.new.text));
            Ok(NoteOutputs {
                len: c.new.text.len() as u64,
            })
        }
        async fn delete(
            cx: &Ctx<'_, Notes>,
            id: &str,
            i: &NoteInputs,
            _: &NoteOutputs,
        ) -> Result<(), ProviderError> {
            assert_eq!(i.owner, "nobody", "the owner read from the cloud");
            cx.provider.0.lock().unwrap().remove(id);
            Ok(())
        }
    }
}

fn harness(backend: &Arc<dyn Backend>, notes: &Notes, v2: bool) -> StackHarness {
    let b = TypedProvider::builder("local", notes.clone());
    let provider = if v2 {
        b.resource::<v2::Note>().build()
    } else {
        b.resource::<v1::Note>().build()
    };
    StackHarness::new("notes.things.Dev")
        .unwrap()
        .backend(backend.clone())
        .provider(None, Arc::new(provider))
}

#[tokio::test]
async fn a_record_of_an_older_type_version_is_deleted_and_updated_by_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let backend: Arc<dyn Backend> = Arc::new(LocalBackend::new(dir.path()));
    let notes = Notes::default();
    let opts = EngineOptions::default();

    // Version 1 records `a` and `b` (no owner; `len: null`).
    let old = |stack: &Stack| -> Result<(), mkso::Error> {
        for n in ["a", "b"] {
            v1::Note::new(
                stack,
                n,
                v1::NoteArgs::builder().text("hi"),
                ResourceOptions::new(),
            )?;
        }
        Ok(())
    };
    let (_, out) = harness(&backend, &notes, false)
        .up(&old, &opts)
        .await
        .unwrap();
    assert!(out.succeeded(), "{:?}", out.failures);

    // Version 2: `a` gets an owner (an update of a record that does not fit:
    // its old values are read from the cloud), `b` is removed (a delete of a
    // record that does not fit).
    let new = |stack: &Stack| -> Result<(), mkso::Error> {
        v2::Note::new(
            stack,
            "a",
            v2::NoteArgs::builder().text("hi").owner("ops"),
            ResourceOptions::new(),
        )?;
        Ok(())
    };
    let h = harness(&backend, &notes, true);
    let (_, out) = h.up(&new, &opts).await.unwrap();
    assert!(out.succeeded(), "{:?}", out.failures);
    assert_eq!(out.changes.get("update"), Some(&1), "{:?}", out.changes);
    assert_eq!(out.changes.get("delete"), Some(&1), "{:?}", out.changes);
    let cloud = notes.0.lock().unwrap().clone();
    assert_eq!(
        cloud,
        HashMap::from([("a".to_string(), "ops\nhi".to_string())])
    );
    let state = h.state().await.unwrap();
    assert_eq!(state.live.len(), 1);
    let a = state.live.values().next().unwrap();
    assert_eq!(a.outputs["len"], serde_json::json!(2));
    assert!(
        !h.preview(&new, &opts).await.unwrap().has_changes(),
        "converged"
    );

    // Refresh reads such records too (a state of its own: the `up` above
    // must meet the records as version 1 wrote them).
    let dir = tempfile::tempdir().unwrap();
    let backend: Arc<dyn Backend> = Arc::new(LocalBackend::new(dir.path()));
    let notes = Notes::default();
    let (_, out) = harness(&backend, &notes, false)
        .up(&old, &opts)
        .await
        .unwrap();
    assert!(out.succeeded(), "{:?}", out.failures);
    let h = harness(&backend, &notes, true);
    let refreshed = h.refresh(&new, &opts).await.unwrap();
    assert!(refreshed.failures.is_empty(), "{:?}", refreshed.failures);
}
