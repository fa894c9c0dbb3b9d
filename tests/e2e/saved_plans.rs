//! `preview --out FILE` and `up --plan FILE` with the real `data_bench`
//! binary: the saved plan applies exactly, and is refused (exit 2, nothing
//! changed) once the state or the program's input moved.

use crate::{run, text, tmp};

use crate::data_bench::{BIN, args};

#[test]
fn a_saved_plan_applies_exactly_or_not_at_all() {
    let (_d, state) = tmp();
    let plan = state.join("plan.json");
    let plan = plan.to_str().unwrap();
    let five = [("MKSO_CONFIG__BENCH__COUNT", "5")];
    let seven = [("MKSO_CONFIG__BENCH__COUNT", "7")];
    let o = run(BIN, &state, &five, &args(&["up", "--yes"]));
    assert!(o.status.success(), "{}", text(&o));

    // Saved, then applied without a prompt (standard input is not a
    // terminal): exactly the two creates.
    let o = run(BIN, &state, &seven, &args(&["preview", "--out", plan]));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "plan saved to {plan}: `up --plan {plan}` applies exactly it"
        )),
        "{}",
        text(&o)
    );
    let o = run(BIN, &state, &seven, &args(&["up", "--plan", plan]));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("2 create"), "{}", text(&o));
    let o = run(
        BIN,
        &state,
        &seven,
        &args(&["preview", "--expect-no-changes"]),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // Applied once, the same plan is stale: the state moved.
    let o = run(BIN, &state, &seven, &args(&["up", "--plan", plan]));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("the state of stack bench.data.Dev changed since the plan was made"),
        "{}",
        text(&o)
    );

    // A plan made with 9 resources, applied with 5: refused (the program
    // declares other resources), and nothing was changed.
    let nine = [("MKSO_CONFIG__BENCH__COUNT", "9")];
    let o = run(BIN, &state, &nine, &args(&["preview", "--out", plan]));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(BIN, &state, &five, &args(&["up", "--plan", plan]));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("the program declares other resources, options or outputs than when the plan was made (its code or the config it reads changed); nothing was changed"),
        "{}",
        text(&o)
    );

    // The same resources with other values: refused, naming the steps.
    let rev = |r: &'static str| {
        [
            ("MKSO_CONFIG__BENCH__COUNT", "7"),
            ("MKSO_CONFIG__BENCH__REVISION", r),
            ("MKSO_CONFIG__BENCH__REVISE_EVERY", "4"),
        ]
    };
    let o = run(BIN, &state, &rev("1"), &args(&["preview", "--out", plan]));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(BIN, &state, &rev("2"), &args(&["up", "--plan", plan]));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("the plan would now differ from the saved one: `item-0` would update [value] with other inputs; `item-4` would update [value] with other inputs"),
        "{}",
        text(&o)
    );
    let o = run(
        BIN,
        &state,
        &seven,
        &args(&["preview", "--expect-no-changes"]),
    );
    assert_eq!(o.status.code(), Some(0), "nothing changed: {}", text(&o));

    // --target does not go with --plan; a plan of another stack is refused.
    // (The program and state the plan was made with: only --target is wrong.)
    let o = run(
        BIN,
        &state,
        &rev("1"),
        &args(&["up", "--plan", plan, "--target", "item-1"]),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("--target cannot be given with --plan"),
        "{}",
        text(&o)
    );
    let o = run(
        BIN,
        &state,
        &nine,
        &["up", "--plan", plan, "--stack", "bench.chain.Dev"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("the saved plan is for stack bench.data.Dev, not bench.chain.Dev"),
        "{}",
        text(&o)
    );
}
