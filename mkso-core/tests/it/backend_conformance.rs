//! One conformance suite for every state backend: the local directory backend
//! and the S3 backend against moto (`MKSO_MOTO_ENDPOINT`, started by
//! `scripts/test.sh`). Each "process" is a fresh backend instance on the same
//! directory or bucket prefix, as two mkso processes would be.

use std::sync::Arc;

use mkso::StackName;
use mkso::names::Urn;
use mkso::stack::ResourceKind;
use mkso::state::{
    Backend, HistoryEntry, JournalEntry, LocalBackend, ResourceState, S3Backend, StateError,
    StateStore, UpdateKind, UpdateResult,
};
use serde_json::json;

/// Opens a new "process" on the shared place.
type Open = Arc<dyn Fn() -> Arc<dyn Backend> + Send + Sync>;

fn local(dir: &std::path::Path) -> Open {
    let dir = dir.to_path_buf();
    Arc::new(move || Arc::new(LocalBackend::new(dir.clone())) as Arc<dyn Backend>)
}

pub fn moto() -> String {
    std::env::var("MKSO_MOTO_ENDPOINT").expect(
        "MKSO_MOTO_ENDPOINT is not set: run the tests with `bash scripts/test.sh`, which starts the emulators",
    )
}

pub const BUCKET: &str = "mkso-state-tests";

/// A plain S3 client on moto, to look behind the backend's back.
fn s3_client() -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(moto())
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// Creates the test bucket on moto (once; an existing bucket is fine).
pub async fn ensure_bucket() {
    let client = s3_client();
    let _ = client.create_bucket().bucket(BUCKET).send().await;
}

fn s3(test: &str) -> Open {
    let prefix = format!("{test}-{}", std::process::id());
    Arc::new(move || {
        Arc::new(S3Backend::new(BUCKET, prefix.clone()).with_endpoint(moto())) as Arc<dyn Backend>
    })
}

fn stack() -> StackName {
    StackName::new("conformance.QA").unwrap()
}

fn resource(name: &str, value: i64) -> ResourceState {
    let urn = Urn::new(&stack(), "conf", "test:index:Thing", name);
    ResourceState {
        urn,
        type_token: "test:index:Thing".into(),
        kind: ResourceKind::Custom,
        id: format!("{name}-id"),
        inputs: json!({ "value": value }).into(),
        outputs: json!({ "id": format!("{name}-id"), "value": value }).into(),
        dependencies: vec![],
        parent: None,
        provider: None,
        protect: false,
        retain_on_delete: false,
        secret: false,
        secret_inputs: vec![],
        secret_outputs: vec![],
        pending_delete: false,
    }
}

/// Writes a snapshot holding `names` through a full load → journal → compact.
async fn commit(store: &StateStore, names: &[(&str, i64)]) -> Result<u64, StateError> {
    let mut view = store.load().await?.view;
    let writer = store.journal(view.serial);
    let entries: Vec<JournalEntry> = names
        .iter()
        .map(|(n, v)| JournalEntry::Upsert {
            op_id: None,
            resource: resource(n, *v),
        })
        .collect();
    writer.write(entries.clone()).await?;
    writer.close().await;
    for e in entries {
        view.apply(e);
    }
    store.compact(&mut view).await
}

async fn lock_is_exclusive_names_its_holder_and_is_released(open: Open) {
    let a = StateStore::new(open(), stack());
    let b = StateStore::new(open(), stack());
    let guard = a.lock("up").await.unwrap();
    let err = b.lock("up").await.unwrap_err();
    let StateError::Locked { holder, .. } = &err else {
        panic!("expected Locked, got {err}")
    };
    assert_eq!(holder.pid, std::process::id());
    assert_eq!(holder.command, "up");
    let msg = err.to_string();
    for part in [&holder.user, &holder.host, &holder.since] {
        assert!(msg.contains(part.as_str()), "{msg}");
    }
    assert!(msg.contains("unlock --stack conformance.QA"), "{msg}");
    assert_eq!(b.lock_holder().await.unwrap().as_ref(), Some(&**holder));
    drop(guard);
    assert_eq!(b.lock_holder().await.unwrap(), None);
    let g2 = b.lock("destroy").await.unwrap();
    g2.release();
    assert_eq!(a.lock_holder().await.unwrap(), None);
}

async fn a_stale_lock_is_broken_with_unlock(open: Open) {
    let a = StateStore::new(open(), stack());
    // A process that died holding the lock: its guard never runs.
    std::mem::forget(a.lock("up").await.unwrap());
    let b = StateStore::new(open(), stack());
    assert!(matches!(
        b.lock("up").await.unwrap_err(),
        StateError::Locked { .. }
    ));
    b.break_lock().unwrap();
    let g = b.lock("up").await.unwrap();
    // b now holds a fresh lock of its own.
    assert!(a.lock_holder().await.unwrap().is_some());
    g.release();
    assert!(a.lock_holder().await.unwrap().is_none());
}

async fn the_journal_is_replayed_after_a_crash(open: Open) {
    let a = StateStore::new(open(), stack());
    commit(&a, &[("one", 1)]).await.unwrap();
    // An update that records two steps, then dies before compaction.
    let view = a.load().await.unwrap().view;
    let w = a.journal(view.serial);
    w.write(vec![JournalEntry::Upsert {
        op_id: None,
        resource: resource("two", 2),
    }])
    .await
    .unwrap();
    w.write(vec![JournalEntry::Upsert {
        op_id: None,
        resource: resource("one", 10),
    }])
    .await
    .unwrap();
    w.close().await;
    drop(a);

    let b = StateStore::new(open(), stack());
    let loaded = b.load().await.unwrap();
    assert_eq!(loaded.replayed, 2);
    assert!(!loaded.torn_tail);
    let v = &loaded.view;
    assert_eq!(v.len(), 2);
    let one = Urn::new(&stack(), "conf", "test:index:Thing", "one");
    assert_eq!(*v.live[&one].inputs, json!({ "value": 10 }));
    // The next compaction folds the journal in and empties it.
    let serial = commit(&b, &[("three", 3)]).await.unwrap();
    let c = StateStore::new(open(), stack());
    let loaded = c.load().await.unwrap();
    assert_eq!(loaded.replayed, 0);
    assert_eq!(loaded.view.serial, serial);
    assert_eq!(loaded.view.len(), 3);
    assert!(c.backend().read_journal(&stack()).await.unwrap().is_empty());
}

async fn a_corrupt_snapshot_is_refused_and_left_untouched(open: Open) {
    let a = StateStore::new(open(), stack());
    commit(&a, &[("one", 1)]).await.unwrap();
    let backend = open();
    let good = backend.read_snapshot(&stack()).await.unwrap().unwrap();
    let cut = &good[..good.len() - 20];
    backend.write_snapshot(&stack(), cut).await.unwrap();
    let b = StateStore::new(open(), stack());
    let err = b.load().await.unwrap_err();
    assert!(matches!(err, StateError::CorruptSnapshot { .. }), "{err}");
    assert!(err.to_string().contains("snapshot.json"), "{err}");
    // Nothing that loads state can overwrite it: a commit fails on load.
    assert!(commit(&b, &[("two", 2)]).await.is_err());
    assert_eq!(
        open().read_snapshot(&stack()).await.unwrap().unwrap(),
        cut.to_vec()
    );
}

async fn history_is_kept_and_trimmed(open: Open) {
    let a = StateStore::new(open(), stack());
    for i in 1..=5u64 {
        let serial = commit(&a, &[(&format!("r{i}"), i as i64)]).await.unwrap();
        let e = HistoryEntry {
            id: format!("{serial:010}"),
            kind: UpdateKind::Up,
            started: "2026-11-22T00:00:00Z".into(),
            ended: "2026-11-22T00:00:01Z".into(),
            result: UpdateResult::Succeeded,
            changes: [("create".to_string(), 1)].into(),
            failed: 0,
            serial,
            run_by: None,
            steps: Vec::new(),
        };
        a.record_history(&e, 3).await.unwrap();
    }
    let b = StateStore::new(open(), stack());
    let h = b.history().await.unwrap();
    assert_eq!(
        h.iter().map(|e| e.serial).collect::<Vec<_>>(),
        vec![3, 4, 5]
    );
    // Each record keeps the snapshot it wrote.
    let snap = b
        .backend()
        .read_history_snapshot(&stack(), &h[0].id)
        .await
        .unwrap()
        .unwrap();
    let s = mkso::state::decode_snapshot(&snap, "history").unwrap();
    assert_eq!(s.serial, 3);
    assert_eq!(s.resources.len(), 3);
    assert!(
        b.backend()
            .read_history_snapshot(&stack(), "0000000001")
            .await
            .unwrap()
            .is_none()
    );
}

async fn of_two_concurrent_writers_only_one_succeeds(open: Open) {
    let seed = StateStore::new(open(), stack());
    commit(&seed, &[("base", 0)]).await.unwrap();
    let a = StateStore::new(open(), stack());
    let b = StateStore::new(open(), stack());
    let mut va = a.load().await.unwrap().view;
    let mut vb = b.load().await.unwrap().view;
    va.apply(JournalEntry::Upsert {
        op_id: None,
        resource: resource("from-a", 1),
    });
    vb.apply(JournalEntry::Upsert {
        op_id: None,
        resource: resource("from-b", 2),
    });
    a.compact(&mut va).await.unwrap();
    let err = b.compact(&mut vb).await.unwrap_err();
    assert!(matches!(err, StateError::Conflict { .. }), "{err}");
    assert!(err.to_string().contains("another writer"), "{err}");
    let v = StateStore::new(open(), stack()).load().await.unwrap().view;
    assert_eq!(v.serial, va.serial);
    let names: Vec<&str> = {
        let mut n: Vec<&str> = v.live.keys().map(|u| u.name()).collect();
        n.sort();
        n
    };
    assert_eq!(names, ["base", "from-a"]);
}

async fn stacks_are_listed_and_removed_without_a_trace(open: Open) {
    let other = StackName::new("conformance.Production").unwrap();
    let a = StateStore::new(open(), stack());
    commit(&a, &[("one", 1)]).await.unwrap();
    let p = StateStore::new(open(), other.clone());
    commit(&p, &[("one", 1)]).await.unwrap();
    let backend = open();
    assert_eq!(
        backend.list_stacks().await.unwrap(),
        vec![other.clone(), stack()]
    );
    backend.remove_stack(&stack()).await.unwrap();
    backend.remove_stack(&other).await.unwrap();
    assert!(backend.list_stacks().await.unwrap().is_empty());
    assert!(backend.read_snapshot(&stack()).await.unwrap().is_none());
    assert!(backend.list_history(&stack()).await.unwrap().is_empty());
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod local_backend {
            $(
                #[tokio::test]
                async fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    super::$name(super::local(dir.path())).await;
                }
            )*
        }
        mod s3_backend {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    super::ensure_bucket().await;
                    super::$name(super::s3(stringify!($name))).await;
                }
            )*
        }
    };
}

/// `unlock --force` while an update runs: the old holder's next journal write
/// and its compaction fail (nothing of it is reported as recorded), what it
/// wrote after the break is kept aside, and the next holder adopts it as
/// pending operations that the providers resolve.
async fn a_broken_lock_fences_its_writer(open: Open) {
    let a = StateStore::new(open(), stack());
    let guard_a = a.lock("up").await.unwrap();
    let mut view_a = a.load().await.unwrap().view;
    let wa = a.journal(view_a.serial);
    let one = JournalEntry::Upsert {
        op_id: None,
        resource: resource("one", 1),
    };
    wa.write(vec![one.clone()]).await.unwrap();
    view_a.apply(one);

    // Another process breaks the live lock and takes it.
    let b = StateStore::new(open(), stack());
    b.break_lock().unwrap();
    let guard_b = b.lock("destroy").await.unwrap();
    let mut view_b = b.load().await.unwrap().view;
    assert!(
        view_b.live.keys().any(|u| u.name() == "one"),
        "the new holder sees what the old one recorded before the break"
    );

    // The old holder's next write is fenced: an error naming the new holder.
    let two = JournalEntry::Upsert {
        op_id: None,
        resource: resource("two", 2),
    };
    let err = wa.write(vec![two.clone()]).await.unwrap_err().to_string();
    assert!(err.contains("was broken"), "{err}");
    assert!(err.contains("running `destroy`"), "{err}");
    // ... and so is every later one, and its compaction.
    let err = wa.write(vec![two.clone()]).await.unwrap_err().to_string();
    assert!(err.contains("was broken"), "{err}");
    wa.close().await;
    view_a.apply(two);
    let err = a.compact(&mut view_a).await.unwrap_err();
    assert!(matches!(err, StateError::LockLost { .. }), "{err}");
    // Its guard leaves the new holder's lock alone.
    drop(guard_a);
    assert_eq!(
        b.lock_holder().await.unwrap().map(|h| h.command),
        Some("destroy".to_string())
    );

    // The new holder adopts the records kept aside as pending creates (one
    // per fenced write of `two`), and its compaction removes them.
    let (adopted, names) = b.adopt_orphans(&mut view_b).await.unwrap();
    assert_eq!(adopted, 2, "{names:?}");
    assert!(
        view_b
            .pending
            .values()
            .all(|p| p.urn.name() == "two" && p.id == "two-id"),
        "{:?}",
        view_b.pending
    );
    b.compact(&mut view_b).await.unwrap();
    b.remove_orphans(&names).await.unwrap();
    assert!(open().list_orphans(&stack()).await.unwrap().is_empty());
    let loaded = b.load().await.unwrap().view;
    assert_eq!(loaded.pending.len(), 2, "recorded as pending operations");
    drop(guard_b);
}

/// A stack recorded by one project is refused by a program of another.
async fn a_stack_belongs_to_its_project(open: Open) {
    let a = StateStore::new(open(), stack()).with_project("network");
    let g = a.lock("up").await.unwrap();
    commit(&a, &[("one", 1)]).await.unwrap();
    drop(g);
    let b = StateStore::new(open(), stack()).with_project("bench");
    let err = b.load().await.unwrap_err();
    assert!(matches!(err, StateError::WrongProject { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("`network`") && msg.contains("`bench`") && msg.contains("conformance.QA"),
        "{msg}"
    );
    // The same project, and readers of any project (listings), load it.
    let same = StateStore::new(open(), stack()).with_project("network");
    assert_eq!(
        same.load().await.unwrap().view.project.as_deref(),
        Some("network")
    );
    assert_eq!(
        StateStore::new(open(), stack())
            .load()
            .await
            .unwrap()
            .view
            .live
            .len(),
        1
    );
    // State written before projects were recorded: the URNs name the project.
    let legacy = StackName::new("conformance.Legacy").unwrap();
    let plain = StateStore::new(open(), legacy.clone());
    commit(&plain, &[("one", 1)]).await.unwrap();
    assert_eq!(
        plain.load().await.unwrap().view.project.as_deref(),
        Some("conf")
    );
    let err = StateStore::new(open(), legacy.clone())
        .with_project("bench")
        .load()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("`conf`") && err.contains("`bench`"), "{err}");
    StateStore::new(open(), legacy)
        .with_project("conf")
        .load()
        .await
        .unwrap();
}

/// A lock whose holder on this machine is gone is taken over by the next
/// command (naming it); a live holder's never is.
async fn a_dead_holders_lock_is_taken_over(open: Open) {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let mut dead = mkso::state::LockInfo::current("up");
    dead.pid = pid;
    dead.start_ticks = None;
    let backend = open();
    assert!(
        backend
            .create_lock(&stack(), &serde_json::to_vec(&dead).unwrap())
            .await
            .unwrap()
            .is_none()
    );
    let b = StateStore::new(open(), stack());
    let guard = b.lock("destroy").await.unwrap();
    assert_eq!(guard.took_over().map(|h| h.pid), Some(pid));
    // Now held by a live process (this one): not taken over.
    let c = StateStore::new(open(), stack());
    assert!(matches!(
        c.lock("up").await.unwrap_err(),
        StateError::Locked { .. }
    ));
    drop(guard);
    assert!(c.lock_holder().await.unwrap().is_none());
}

conformance!(
    a_dead_holders_lock_is_taken_over,
    a_broken_lock_fences_its_writer,
    a_stack_belongs_to_its_project,
    lock_is_exclusive_names_its_holder_and_is_released,
    a_stale_lock_is_broken_with_unlock,
    the_journal_is_replayed_after_a_crash,
    a_corrupt_snapshot_is_refused_and_left_untouched,
    history_is_kept_and_trimmed,
    of_two_concurrent_writers_only_one_succeeds,
    stacks_are_listed_and_removed_without_a_trace,
);

/// The newest history copy does not share storage with the live snapshot:
/// damage to `snapshot.json` in place leaves it intact.
#[tokio::test]
async fn local_history_does_not_share_the_live_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let a = StateStore::new(local(dir.path())(), stack());
    commit(&a, &[("one", 1)]).await.unwrap();
    let entry = HistoryEntry {
        id: "00000001".into(),
        kind: UpdateKind::Up,
        started: "t".into(),
        ended: "t".into(),
        result: UpdateResult::Succeeded,
        changes: Default::default(),
        failed: 0,
        serial: 1,
        run_by: None,
        steps: Vec::new(),
    };
    a.record_history(&entry, 3).await.unwrap();
    let live = dir.path().join("stacks/conformance.QA/snapshot.json");
    let kept = std::fs::read(&live).unwrap();
    // Damage in place (same inode), as an editor or a bad disk would.
    {
        use std::io::{Seek, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&live).unwrap();
        f.seek(std::io::SeekFrom::Start(10)).unwrap();
        f.write_all(b"XXXX").unwrap();
    }
    let hist = a
        .backend()
        .read_history_snapshot(&stack(), "00000001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hist, kept, "the history copy is intact");
}

/// A snapshot-write guard left by a crash never blocks for good: not when
/// its writer is dead, not when its time is in the future.
#[tokio::test]
async fn local_stale_write_guards_are_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let a = StateStore::new(local(dir.path())(), stack());
    commit(&a, &[("one", 1)]).await.unwrap();
    let sdir = dir.path().join("stacks/conformance.QA");
    let guard = sdir.join("snapshot.json.writing");

    // A guard from the future (a clock that jumped), with no writer named.
    let f = std::fs::File::create(&guard).unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(3600))
        .unwrap();
    drop(f);
    commit(&a, &[("two", 2)]).await.unwrap();
    assert!(!guard.exists());

    // A fresh guard of a process that is gone.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let mut info = mkso::state::LockInfo::current("snapshot write");
    info.pid = pid;
    info.start_ticks = None;
    std::fs::write(&guard, serde_json::to_vec(&info).unwrap()).unwrap();
    commit(&a, &[("three", 3)]).await.unwrap();
    assert!(!guard.exists());

    // A live writer's fresh guard is respected: conflict, nothing overwritten.
    std::fs::write(
        &guard,
        serde_json::to_vec(&mkso::state::LockInfo::current("snapshot write")).unwrap(),
    )
    .unwrap();
    let before = std::fs::read(sdir.join("snapshot.json")).unwrap();
    assert!(matches!(
        commit(&a, &[("four", 4)]).await.unwrap_err(),
        StateError::Conflict { .. }
    ));
    assert_eq!(std::fs::read(sdir.join("snapshot.json")).unwrap(), before);
    std::fs::remove_file(&guard).unwrap();
    // No temp files are left behind by any of this.
    let leftovers: Vec<String> = std::fs::read_dir(&sdir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_remove_stack_leaves_no_object_behind() {
    ensure_bucket().await;
    let open = s3("leaves_nothing");
    let a = StateStore::new(open(), stack());
    let g = a.lock("up").await.unwrap();
    commit(&a, &[("one", 1)]).await.unwrap();
    drop(g);
    open().remove_stack(&stack()).await.unwrap();
    let listed = s3_client()
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix(format!("leaves_nothing-{}/", std::process::id()))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.key_count(), Some(0), "{:?}", listed.contents());
}

#[test]
fn s3_urls_are_parsed_and_bad_ones_named() {
    let b = S3Backend::from_url("s3://my-bucket/team/infra").unwrap();
    assert_eq!(b.describe(), "s3://my-bucket/team/infra");
    assert_eq!(
        b.snapshot_location(&stack()),
        "s3://my-bucket/team/infra/stacks/conformance.QA/snapshot.json"
    );
    assert_eq!(
        S3Backend::from_url("s3://bare").unwrap().describe(),
        "s3://bare"
    );
    let err = S3Backend::from_url("s3:///nobucket").unwrap_err();
    assert!(err.to_string().contains("s3:///nobucket"), "{err}");
}
