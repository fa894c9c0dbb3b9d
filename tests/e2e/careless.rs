//! Careless commands and hostile input on the config path (issue 16, points
//! 3–6 and 11), with the real `data_bench` binary on a temporary copy of its
//! project directory (the repository's stack files are never touched).

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::text;

const BIN: &str = env!("CARGO_BIN_EXE_data_bench");
const STACK: &str = "bench.data.Dev";
const PASSPHRASE: &str = "correct horse battery staple";

/// A temporary copy of `stacks/data_bench` (its state in `state/` inside it).
struct Project {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Project {
    fn new() -> Project {
        let (tmp, dir) = crate::bench_copy();
        Project { _tmp: tmp, dir }
    }

    fn stack_file(&self) -> PathBuf {
        self.dir.join(format!("Mkso.{STACK}.yaml"))
    }

    fn cmd(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        self.cmd_on(STACK, args, env)
    }

    fn cmd_on(&self, stack: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .args(["--stack", stack])
            .env("MKSO_PROJECT_DIR", &self.dir)
            .env(
                "MKSO_BACKEND_URL",
                format!("file://{}", self.dir.join("state").display()),
            )
            .env("MKSO_PASSPHRASE", PASSPHRASE)
            .env_remove("MKSO_STACK")
            .stdin(Stdio::null());
        for (k, v) in env {
            c.env(k, v);
        }
        c
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.cmd(args, env).output().unwrap()
    }

    fn run_stdin(&self, args: &[&str], input: &str) -> Output {
        crate::output_with_stdin(&mut self.cmd(args, &[]), input.as_bytes())
    }

    /// `config get --show-secrets`: the value exactly (one line break added by `get`).
    fn get(&self, key: &str) -> String {
        let o = self.run(&["config", "get", key, "--show-secrets"], &[]);
        assert!(o.status.success(), "{}", text(&o));
        let out = String::from_utf8(o.stdout).unwrap();
        out.strip_suffix('\n').unwrap().to_string()
    }
}

/// The values of the issue: each was stored as something else before.
const TABLE: &[&str] = &[
    "hunter2 # comment",
    "'hunter2'",
    "  spaced  ",
    "#hunter2",
    "!!binary aGVsbG8=",
    "\"quoted\"",
    "null",
    "yes",
    "010",
    "[a, b",
    "{x",
    "*alias",
    "tab\there",
];

#[test]
fn secrets_and_strings_round_trip_exactly() {
    let p = Project::new();
    for (i, v) in TABLE.iter().enumerate() {
        let key = format!("bench:s{i}");
        let o = p.run(&["config", "set", "--secret", &key, v], &[]);
        assert!(o.status.success(), "{v:?}: {}", text(&o));
        assert_eq!(p.get(&key), *v, "secret from the argument");
        // Encrypted: the value is not in the file.
        if i == 0 {
            let file = std::fs::read_to_string(p.stack_file()).unwrap();
            assert!(!file.contains("hunter2"), "{file}");
        }

        // From standard input: exactly one trailing line break is removed.
        for (input, want) in [
            (format!("{v}\n"), v.to_string()),
            (format!("{v}\r\n"), v.to_string()),
            (format!("{v}\n\n"), format!("{v}\n")),
            (v.to_string(), v.to_string()),
        ] {
            let o = p.run_stdin(&["config", "set", "--secret", &key], &input);
            assert!(o.status.success(), "{input:?}: {}", text(&o));
            assert_eq!(p.get(&key), want, "secret from stdin {input:?}");
        }

        // A plain `config set` of these is the exact string too.
        let key = format!("bench:p{i}");
        let o = p.run(&["config", "set", &key, v], &[]);
        assert!(o.status.success(), "{v:?}: {}", text(&o));
        assert_eq!(p.get(&key), *v, "plain value");
    }
    // Values that look like numbers or booleans are the exact string too
    // (with or without --string); only --yaml parses.
    for v in [
        "10",
        "1.10",
        "1e3",
        "123456789012",
        "true",
        "[a, b]",
        "{a: 1}",
    ] {
        for flags in [&[][..], &["--string"]] {
            let args = [&["config", "set"][..], flags, &["bench:n", v]].concat();
            let o = p.run(&args, &[]);
            assert!(o.status.success(), "{v:?}: {}", text(&o));
            assert_eq!(p.get("bench:n"), v, "{flags:?}");
            let o = p.run(&["--json", "config", "get", "bench:n"], &[]);
            assert_eq!(
                String::from_utf8_lossy(&o.stdout).trim(),
                serde_json::to_string(v).unwrap(),
                "{flags:?}"
            );
        }
    }
    let o = p.run(&["config", "set", "--yaml", "bench:n", "10"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let o = p.run(&["--json", "config", "get", "bench:n"], &[]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "10");
    let o = p.run(&["config", "set", "--yaml", "bench:n", "'x' # c"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(p.get("bench:n"), "x");
    let o = p.run(&["config", "set", "--yaml", "bench:n", "[a"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn a_string_count_is_read_as_a_number_and_comments_are_kept() {
    let p = Project::new();
    let f = p.stack_file();
    std::fs::write(
        &f,
        "# the data bench\nconfig:\n  bench:count: 2   # small\n  bench:shape: independent\n",
    )
    .unwrap();
    let o = p.run(&["config", "set", "bench:count", "3"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "# the data bench\nconfig:\n  bench:count: '3'   # small\n  bench:shape: independent\n"
    );
    let o = p.run(&["up", "--yes"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let o = p.run(&["outputs", "--json"], &[]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v, serde_json::json!({"count": 3}));
}

#[test]
fn concurrent_config_sets_lose_nothing() {
    let p = Project::new();
    let mut failures = Vec::new();
    for i in 0..100 {
        let a = format!("bench:a{i}");
        let b = format!("bench:b{i}");
        let children: Vec<_> = [&a, &b]
            .iter()
            .map(|k| {
                p.cmd(&["config", "set", k, &i.to_string()], &[])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let o = c.wait_with_output().unwrap();
            if !o.status.success() {
                failures.push(text(&o));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
    let o = p.run(&["--json", "config", "ls"], &[]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let m = v.as_object().unwrap();
    for i in 0..100 {
        for k in [format!("bench:a{i}"), format!("bench:b{i}")] {
            assert_eq!(
                m.get(&k),
                Some(&serde_json::json!(i.to_string())),
                "{k} lost"
            );
        }
    }
    assert_eq!(m.len(), 202, "the two original keys and 200 new ones");
    // No temp file is left behind.
    let left: Vec<_> = std::fs::read_dir(&p.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[cfg(unix)]
#[test]
fn a_symlink_planted_at_a_temp_name_is_not_followed() {
    let p = Project::new();
    let victim = p.dir.join("../victim");
    std::fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, p.dir.join(format!("Mkso.{STACK}.yaml.tmp"))).unwrap();
    let o = p.run(&["config", "set", "bench:count", "4"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(p.get("bench:count"), "4");
}

#[test]
fn a_missing_stack_file_with_recorded_resources_is_refused() {
    let p = Project::new();
    let env = [("MKSO_CONFIG__BENCH__COUNT", "3")];
    let o = p.run(&["up", "--yes"], &env);
    assert!(o.status.success(), "{}", text(&o));
    let kept = p.dir.join("kept.yaml");
    std::fs::rename(p.stack_file(), &kept).unwrap();
    for cmd in [
        &["preview"][..],
        &["up", "--yes"],
        &["refresh", "--yes"],
        &["destroy", "--yes"],
        &["graph"],
    ] {
        let o = p.run(cmd, &env);
        assert_eq!(o.status.code(), Some(2), "{cmd:?}: {}", text(&o));
        let t = text(&o);
        assert!(
            t.contains(&format!("Mkso.{STACK}.yaml does not exist"))
                && t.contains("3 recorded resources")
                && t.contains("config set"),
            "{cmd:?}: {t}"
        );
    }
    // Nothing was deleted.
    std::fs::rename(&kept, p.stack_file()).unwrap();
    let o = p.run(&["preview", "--expect-no-changes"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // A stack without resources (destroyed: its state remains) needs no file.
    let o = p.run(&["destroy", "--yes"], &env);
    assert!(o.status.success(), "{}", text(&o));
    std::fs::remove_file(p.stack_file()).unwrap();
    let o = p.run(&["preview"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // A brand-new stack is created first (`stack init`: an empty file).
    let o = p
        .cmd_on("bench.fresh.Dev", &["stack", "init"], &env)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = p
        .cmd_on("bench.fresh.Dev", &["preview"], &env)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn typo_namespaces_are_errors() {
    let p = Project::new();
    std::fs::write(
        p.stack_file(),
        "config:\n  bench:count: 2\n  bnech:count: 5\n",
    )
    .unwrap();
    let o = p.run(&["preview"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("`bnech:count`")
            && t.contains("`bench`")
            && t.contains(&format!("Mkso.{STACK}.yaml")),
        "{t}"
    );
    std::fs::write(p.stack_file(), "config:\n  bench:count: 2\n").unwrap();
    let o = p.run(&["preview"], &[("MKSO_CONFIG__BENCHX__COUNT", "5")]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("MKSO_CONFIG__BENCHX__COUNT") && text(&o).contains("`bench`"),
        "{}",
        text(&o)
    );
    let o = p.run(&["preview"], &[("MKSO_CONFIG__bench__count", "5")]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("MKSO_CONFIG__bench__count")
            && text(&o).contains("MKSO_CONFIG__BENCH__COUNT"),
        "{}",
        text(&o)
    );
    let o = p.run(&["preview"], &[("MKSO_CONFIG__BENCH__COUNT", "5")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn hostile_stack_files_are_refused_fast_with_short_errors() {
    let p = Project::new();
    let f = p.stack_file();
    let t = Instant::now();
    // 200 KB of nested lists.
    std::fs::write(
        &f,
        format!(
            "config:\n  bench:count: {}{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        ),
    )
    .unwrap();
    let o = p.run(&["preview"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("nested deeper than"), "{}", text(&o));
    // Larger than the limit.
    std::fs::write(
        &f,
        format!("config:\n  bench:shape: {}\n", "x".repeat(5 << 20)),
    )
    .unwrap();
    let o = p.run(&["preview"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("larger than 4 MiB") && o.stderr.len() < 1000,
        "{}",
        text(&o)
    );
    // A 3 MB value of the wrong type is quoted by a short prefix only.
    std::fs::write(
        &f,
        format!("config:\n  bench:count: {}\n", "x".repeat(3 << 20)),
    )
    .unwrap();
    let o = p.run(&["preview"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("`bench:count`") && o.stderr.len() < 1000,
        "{}",
        text(&o)
    );
    // A symlink to /dev/zero.
    #[cfg(unix)]
    {
        std::fs::remove_file(&f).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &f).unwrap();
        for cmd in [&["preview"][..], &["config", "set", "bench:count", "1"]] {
            let o = p.run(cmd, &[]);
            assert_eq!(o.status.code(), Some(2), "{}", text(&o));
            assert!(text(&o).contains("character device"), "{}", text(&o));
        }
        std::fs::remove_file(&f).unwrap();
        std::fs::remove_file(p.dir.join("Mkso.yaml")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", p.dir.join("Mkso.yaml")).unwrap();
        let o = p.run(&["preview"], &[]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains("character device"), "{}", text(&o));
    }
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
}

/// Issue 15, item 4: a value of the wrong type (or a key the program does not
/// know) that came from an `MKSO_CONFIG__` variable names the variable, not
/// the stack file, which holds a good value.
#[test]
fn an_environment_override_of_the_wrong_type_names_the_variable() {
    let p = Project::new();
    std::fs::write(p.stack_file(), "config:\n  bench:count: 2\n").unwrap();
    let file = format!("Mkso.{STACK}.yaml");
    let o = p.run(&["preview"], &[("MKSO_CONFIG__BENCH__COUNT", "three")]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains(
            "config key `bench:count` from environment variable MKSO_CONFIG__BENCH__COUNT has the wrong type"
        ) && t.contains("three"),
        "{t}"
    );
    assert!(!t.contains(&file), "the file is not blamed: {t}");

    let o = p.run(&["preview"], &[("MKSO_CONFIG__BENCH__COUNTS", "3")]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("`bench:counts` from environment variable MKSO_CONFIG__BENCH__COUNTS")
            && t.contains("unset it")
            && !t.contains("config rm")
            && !t.contains(&file),
        "{t}"
    );

    // A wrong value in the file is still the file's.
    std::fs::write(p.stack_file(), "config:\n  bench:count: three\n").unwrap();
    let o = p.run(&["preview"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("config key `bench:count` in ")
            && t.contains(&format!("{file} has the wrong type")),
        "{t}"
    );
}
