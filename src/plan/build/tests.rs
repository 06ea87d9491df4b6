//! Plans of small notebooks: the routing rules of DESIGN.md's semantic contract.

use super::*;
use crate::config;
use crate::notebook::CellKind;

fn notebook(cells: &[(&[&str], &str)]) -> Notebook {
    let cells: Vec<(CellKind, &str, &[&str])> =
        cells.iter().map(|(tags, source)| (CellKind::Code, *source, *tags)).collect();
    crate::notebook::test_notebook(&cells)
}

fn plan(cells: &[(&[&str], &str)]) -> Plan {
    let nb = notebook(cells);
    let (settings, _) = config::resolve(&nb.metadata, "test", &Default::default());
    build(&nb, settings, "test.ipynb", &Surroundings::none())
}

fn step<'p>(plan: &'p Plan, name: &str) -> &'p StepPlan {
    plan.steps.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no step {name}"))
}

fn inputs(plan: &Plan, name: &str) -> Vec<(String, String)> {
    step(plan, name).inputs.iter().map(|i| (i.variable.clone(), plan.steps[i.producer].name.clone())).collect()
}

fn errors(plan: &Plan) -> Vec<&'static str> {
    plan.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.code).collect()
}

#[test]
fn reads_resolve_to_the_last_writer_and_become_dependencies() {
    let p = plan(&[(&["step:a"], "x = 1\ny = 2"), (&["step:b"], "z = x + 1"), (&["step:c"], "print(x, y, z)")]);
    assert!(errors(&p).is_empty(), "{:?}", p.diagnostics);
    assert_eq!(inputs(&p, "b"), vec![("x".into(), "a".into())]);
    assert_eq!(inputs(&p, "c"), vec![("x".into(), "a".into()), ("y".into(), "a".into()), ("z".into(), "b".into())]);
    assert_eq!(step(&p, "a").outputs, vec!["x", "y"]);
    assert_eq!(step(&p, "c").after, vec![0, 1]);
}

#[test]
fn mutation_makes_the_mutating_step_the_producer() {
    let p = plan(&[
        (&["step:a"], "xs = [1]"),
        (&["step:b"], "xs.append(2)"),
        (&["step:c"], "print(xs)"),
        (&["step:d"], "xs.head()"),
    ]);
    assert_eq!(inputs(&p, "b"), vec![("xs".into(), "a".into())]);
    assert_eq!(inputs(&p, "c"), vec![("xs".into(), "b".into())]);
    // a read-only method is not a mutation
    assert!(step(&p, "d").outputs.is_empty());
}

#[test]
fn undefined_names_are_errors_with_cell_and_line() {
    let p = plan(&[(&["step:a"], "x = 1"), (&["step:b"], "print(x)\nprint(y)")]);
    let d = p.diagnostics.iter().find(|d| d.code == "undefined-name").expect("undefined-name");
    assert_eq!((d.cell, d.span.map(|s| s.line)), (Some(1), Some(2)));
    assert!(d.message.contains("`y`"));
}

#[test]
fn parameters_are_inputs_only_of_steps_that_read_them_and_reassignment_routes() {
    let p = plan(&[
        (&["pipeline-parameters"], "LR = 0.1\nEPOCHS = -3\nNAME = 'it\\'s'"),
        (&["step:a"], "print(EPOCHS)"),
        (&["step:b"], "LR = LR * 2"),
        (&["step:c"], "print(LR)"),
    ]);
    assert!(errors(&p).is_empty(), "{:?}", p.diagnostics);
    assert_eq!(p.parameters.len(), 3);
    assert_eq!(step(&p, "a").parameters, vec!["EPOCHS"]);
    assert_eq!(step(&p, "b").parameters, vec!["LR"]);
    assert!(step(&p, "c").parameters.is_empty());
    assert_eq!(inputs(&p, "c"), vec![("LR".into(), "b".into())]);
}

#[test]
fn imports_and_functions_are_code_not_data() {
    let p = plan(&[
        (&["imports"], "import numpy as np"),
        (&["step:a"], "import pandas as pd\nK = 3\ndef scale(v):\n    return v * K"),
        (&["step:b"], "y = scale(np.ones(2))\ndf = pd.DataFrame()"),
    ]);
    assert!(errors(&p).is_empty(), "{:?}", p.diagnostics);
    let b = step(&p, "b");
    // the function's global is an input of the caller; the function and the import are code
    assert_eq!(inputs(&p, "b"), vec![("K".into(), "a".into())]);
    let injected: Vec<&str> = b.definitions.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(injected, vec!["pd", "scale"]);
    assert!(b.packages.contains(&"numpy".to_string()) && b.packages.contains(&"pandas".to_string()));
}

#[test]
fn global_statement_makes_calls_writes() {
    let p = plan(&[
        (&["step:a"], "count = 0\ndef bump():\n    global count\n    count += 1"),
        (&["step:b"], "bump()"),
        (&["step:c"], "print(count)"),
    ]);
    assert!(errors(&p).is_empty(), "{:?}", p.diagnostics);
    assert_eq!(inputs(&p, "c"), vec![("count".into(), "b".into())]);
}

#[test]
fn prev_adds_ordering_and_unknown_prev_is_an_error() {
    let p = plan(&[(&["step:a"], "pass"), (&["step:b", "prev:a"], "pass"), (&["step:c", "prev:trian"], "pass")]);
    assert_eq!(step(&p, "b").after, vec![0]);
    assert_eq!(errors(&p), vec!["invalid-prev"]);
}

#[test]
fn untagged_notebook_is_one_step_and_skip_is_transparent() {
    let p = plan(&[(&[], "x = 1"), (&["skip"], "print(secret)"), (&[], "y = x")]);
    assert!(errors(&p).is_empty(), "{:?}", p.diagnostics);
    assert_eq!(p.steps.len(), 1);
    assert_eq!(p.steps[0].cells, vec![0, 2]);
}

#[test]
fn random_state_follows_the_draws() {
    let p = plan(&[
        (&["imports"], "import random"),
        (&["step:a"], "random.seed(1)\na = random.random()"),
        (&["step:b"], "b = random.random()"),
    ]);
    assert_eq!(inputs(&p, "b"), vec![("@random".into(), "a".into())]);
}

#[test]
fn metrics_are_logged_by_their_producer() {
    let p = plan(&[(&["step:a"], "acc = 0.9"), (&["pipeline-metrics"], "print(acc)")]);
    assert_eq!(step(&p, "a").metrics, vec![("acc".to_string(), "acc".to_string())]);
}

#[test]
fn a_reused_step_name_that_breaks_the_data_is_reported() {
    let p = plan(&[(&["step:a"], "x = 1"), (&["step:b"], "y = x"), (&["step:a"], "x = 2")]);
    assert!(errors(&p).contains(&"split-step"), "{:?}", p.diagnostics);
}

#[test]
fn deleted_names_are_not_passed() {
    let p = plan(&[(&["step:a"], "x = 1\ndel x"), (&["step:b"], "print(x)")]);
    assert_eq!(errors(&p), vec!["deleted-name"]);
}

#[test]
fn classes_of_values_crossing_steps_go_with_them() {
    let p = plan(&[(&["step:a"], "class P:\n    pass\np = P()\np.v = 1"), (&["step:b"], "w = p.v + 1")]);
    assert!(errors(&p).is_empty(), "{:?}", p.diagnostics);
    let injected: Vec<&str> = step(&p, "b").definitions.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(injected, vec!["P"]);
}

fn warnings(plan: &Plan) -> Vec<&'static str> {
    plan.diagnostics.iter().filter(|d| !d.is_error()).map(|d| d.code).collect()
}

#[test]
fn mutation_through_an_alias_made_in_the_same_step_changes_both() {
    // titanic's idiom: `for dataset in [train, test]: dataset[...] = ...`
    let p = plan(&[
        (&["step:load"], "train = {}\ntest = {}"),
        (&["step:prep"], "for d in [train, test]:\n    d['x'] = 1"),
        (&["step:use"], "print(train, test)"),
    ]);
    assert!(errors(&p).is_empty(), "{:?}", p.diagnostics);
    assert_eq!(inputs(&p, "use"), vec![("test".into(), "prep".into()), ("train".into(), "prep".into())]);
}

#[test]
fn mutation_through_an_alias_made_in_another_step_is_carried_in_one_artifact() {
    let p = plan(&[(&["step:one"], "a = [1]\nb = a"), (&["step:two"], "b.append(2)"), (&["step:three"], "n = len(a)")]);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    // `two` loads `a` and `b` together (one object), changes it, and passes `a` on.
    assert_eq!(step(&p, "one").output_groups, vec![vec!["a".to_string(), "b".to_string()]]);
    assert_eq!(inputs(&p, "two"), vec![("a".into(), "one".into()), ("b".into(), "one".into())]);
    assert!(step(&p, "two").inputs.iter().all(|i| i.group == Some(0)));
    assert_eq!(inputs(&p, "three"), vec![("a".into(), "two".into())]);
}

#[test]
fn an_alias_of_a_value_from_another_step_makes_that_step_pass_both_on() {
    // `b = a` in `two` (with `a` from `one`); `three` changes `b`; `four` reads `a`.
    let p = plan(&[
        (&["step:one"], "a = [1]"),
        (&["step:two"], "b = a"),
        (&["step:three"], "b.append(2)"),
        (&["step:four"], "n = len(a)"),
    ]);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    assert_eq!(step(&p, "two").output_groups, vec![vec!["a".to_string(), "b".to_string()]]);
    assert_eq!(inputs(&p, "three"), vec![("a".into(), "two".into()), ("b".into(), "two".into())]);
    assert_eq!(inputs(&p, "four"), vec![("a".into(), "three".into())]);
}

#[test]
fn definitions_in_branches_travel_as_a_choice() {
    let p = plan(&[
        (&["pipeline-parameters"], "FAST = True"),
        (
            &["step:define"],
            "if FAST:\n    def f(x):\n        return x * 2\nelse:\n    def f(x):\n        return x + k\nk = 1",
        ),
        (&["step:use"], "y = f(3)"),
    ]);
    assert!(errors(&p).is_empty(), "{:?}", p.diagnostics);
    assert!(!warnings(&p).contains(&"conditional-binding"), "both branches define `f`: {:?}", p.diagnostics);
    let define = step(&p, "define");
    assert_eq!(define.candidates, vec![("f".to_string(), vec![(1, 2, 3), (1, 5, 6)])]);
    let use_ = step(&p, "use");
    assert_eq!(use_.choices.len(), 1);
    assert_eq!(use_.choices[0].1.iter().map(|c| c.key).collect::<Vec<_>>(), vec![(1, 2, 3), (1, 5, 6)]);
    assert!(use_.definitions.is_empty(), "no definition runs unconditionally: {:?}", use_.definitions);
    // What the other branch's body reads when called is an input too.
    assert_eq!(inputs(&p, "use"), vec![("f".into(), "define".into()), ("k".into(), "define".into())]);
}

#[test]
fn a_name_read_only_in_a_branch_that_is_never_defined_is_a_warning() {
    let p =
        plan(&[(&["step:a"], "import sys\nif sys.version_info < (3, 0):\n    t = unicode('x')\nelse:\n    t = 'x'")]);
    assert!(errors(&p).is_empty(), "{:?}", p.diagnostics);
    assert_eq!(warnings(&p), vec!["undefined-name"]);
    let p = plan(&[(&["step:a"], "t = unicode('x')")]);
    assert_eq!(errors(&p), vec!["undefined-name"]);
}

#[test]
fn class_attributes_changed_in_a_step_reach_later_steps() {
    let p = plan(&[
        (&["functions"], "class Config:\n    lr = 0.1"),
        (&["step:tune"], "Config.lr = 0.5"),
        (&["step:train"], "rate = Config.lr"),
    ]);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    assert_eq!(inputs(&p, "train"), vec![("@attrs:Config".into(), "tune".into())]);
}

#[test]
fn settings_reach_every_later_step_or_are_named() {
    let p = plan(&[
        (&["imports"], "import os\nimport logging\nimport pandas as pd"),
        (
            &["step:a"],
            "os.environ['K'] = '1'\npd.set_option('display.precision', 2)\nlogging.basicConfig(level=logging.INFO)",
        ),
        (&["step:b"], "x = 1"),
    ]);
    assert!(errors(&p).is_empty(), "{:?}", p.diagnostics);
    assert_eq!(
        inputs(&p, "b"),
        vec![("@state:os.environ".into(), "a".into()), ("@state:pandas.options".into(), "a".into())]
    );
    let w = p.diagnostics.iter().find(|d| d.code == "process-state").expect("a warning for logging");
    assert!(w.message.contains("logging.basicConfig") && w.message.contains("`b`"), "{}", w.message);
    // In an imports cell, every step runs the setting: nothing to carry or say.
    let p = plan(&[(&["imports"], "import os\nos.environ['K'] = '1'"), (&["step:a"], "x = 1"), (&["step:b"], "y = 2")]);
    assert!(p.diagnostics.is_empty() && inputs(&p, "b").is_empty(), "{:?}", p.diagnostics);
}

#[test]
fn calls_may_change_what_they_are_given() {
    let p = plan(&[
        (&["imports"], "import numpy as np\nimport helpers"),
        (&["step:make"], "a = np.zeros(3)\nb = np.ones(3)\nc = np.zeros(3)\nd = [1]\ne = [2]\nm = object()"),
        (&["step:calls"], "np.copyto(a, b)\nnp.mean(c)\nlen(d)\nhelpers.train(m, e)"),
        (&["step:read"], "print(a, b, c, d, e, m)"),
    ]);
    let producers: Vec<(String, String)> = inputs(&p, "read");
    let from = |v: &str| producers.iter().find(|(x, _)| x == v).map(|(_, s)| s.clone()).unwrap();
    // Known to change its first argument; known to leave them alone; a builtin.
    assert_eq!(from("a"), "calls");
    assert_eq!(from("b"), "make");
    assert_eq!(from("c"), "make");
    assert_eq!(from("d"), "make");
    // A function nbkf does not know (a local module's, say) may change anything it gets.
    assert_eq!(from("e"), "calls");
    assert_eq!(from("m"), "calls");
}

#[test]
fn notebook_functions_that_pass_their_parameters_on_change_them() {
    let p = plan(&[
        (&["imports"], "import numpy as np"),
        (&["step:make"], "def fill(target, value):\n    np.copyto(target, value)\n\ndef outer(t):\n    fill(t, 1.0)\n\nx = np.zeros(2)"),
        (&["step:change"], "outer(x)"),
        (&["step:read"], "y = x.sum()"),
    ]);
    assert_eq!(inputs(&p, "read"), vec![("x".into(), "change".into())]);
}

#[test]
fn unicode_step_names_get_valid_task_names() {
    let p = plan(&[(&["step:données"], "a = 1"), (&["step:数据"], "b = a + 1")]);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    let tasks: Vec<&str> = p.steps.iter().map(|s| s.task.as_str()).collect();
    assert!(tasks[0].starts_with("donnees-") && tasks[1].starts_with("step-"), "{tasks:?}");
    assert_eq!(p.steps[0].name, "données");
    assert!(p.steps.iter().all(|s| s.function.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')));
}

#[test]
fn values_that_cannot_leave_a_process_are_errors() {
    let p = plan(&[(&["step:a"], "f = open('x.txt')"), (&["step:b"], "print(f.read())")]);
    assert_eq!(errors(&p), vec!["unserializable"]);
    let d = p.diagnostics.iter().find(|d| d.code == "unserializable").unwrap();
    assert!(d.message.contains("`f`") && d.message.contains("cell 1, line 1"), "{}", d.message);
}

#[test]
fn lambdas_crossing_steps_bring_cloudpickle() {
    let p = plan(&[(&["step:a"], "k = 3\nf = lambda x: x * k"), (&["step:b"], "y = f(2)")]);
    assert!(errors(&p).is_empty(), "{:?}", p.diagnostics);
    assert!(step(&p, "a").packages.contains(&"cloudpickle".to_string()));
    assert!(step(&p, "b").packages.contains(&"cloudpickle".to_string()));
}

#[test]
fn files_written_by_one_step_and_read_by_another_are_carried() {
    let p = plan(&[
        (&["imports"], "import pandas as pd"),
        (&["step:clean"], "df = pd.DataFrame({'a': [1]})\ndf.to_csv('clean.csv')"),
        (&["step:train"], "df2 = pd.read_csv('clean.csv')"),
    ]);
    assert!(errors(&p).is_empty(), "{:?}", p.diagnostics);
    assert_eq!(inputs(&p, "train"), vec![("@file:clean.csv".into(), "clean".into())]);
}

#[test]
fn files_at_paths_nbkf_cannot_know_are_reported_with_both_places() {
    let p = plan(&[
        (&["step:a"], "path = 'x.csv'\nopen(path, 'w').write('1')"),
        (&["step:b"], "data = open('x.csv').read()"),
    ]);
    assert!(warnings(&p).contains(&"file-between-steps"), "{:?}", p.diagnostics);
}

#[test]
fn conditional_bindings_dynamic_namespaces_and_shadowed_builtins_are_reported() {
    let p = plan(&[
        (&["step:a"], "import random\nif random.random() > 2:\n    x = 1\nid = 5\ng = globals()"),
        (&["step:b"], "print(x, id)"),
    ]);
    let w = warnings(&p);
    for code in ["conditional-binding", "shadowed-builtin", "dynamic-namespace"] {
        assert!(w.contains(&code), "{code} missing: {:?}", p.diagnostics);
    }
}

#[test]
fn objects_inside_displays_and_builtin_type_methods_count_as_given() {
    let p = plan(&[
        (&["imports"], "import helpers"),
        (&["step:make"], "a = [1]\nb = [2]\nd = {}\ne = {}"),
        (&["step:calls"], "helpers.update([a], {'k': b})\nlist.append(d, 1)\nexec('x = 1', e)"),
        (&["step:read"], "print(a, b, d, e)"),
    ]);
    let producers = inputs(&p, "read");
    for v in ["a", "b", "d", "e"] {
        assert!(producers.contains(&(v.to_string(), "calls".to_string())), "{v}: {producers:?}");
    }
}

#[test]
fn library_features_bring_the_packages_they_need() {
    let p = plan(&[
        (&["imports"], "import pandas as pd"),
        (&["step:a"], "df = pd.DataFrame({'x': [1.0]})"),
        (&["step:b"], "df.plot(kind='density')"),
        (&["step:c"], "df.to_parquet('x.parquet')"),
    ]);
    assert!(!step(&p, "a").packages.contains(&"matplotlib".to_string()));
    for package in ["matplotlib", "scipy"] {
        assert!(step(&p, "b").packages.contains(&package.to_string()), "{:?}", step(&p, "b").packages);
    }
    assert!(step(&p, "c").packages.contains(&"pyarrow".to_string()), "{:?}", step(&p, "c").packages);
}

#[test]
fn the_exit_step_runs_last_and_reads_nothing_from_other_steps() {
    let p = plan(&[
        (&["pipeline-parameters"], "NAME = 'n'"),
        (&["step:notify", "finally"], "msg = NAME.upper()"),
        (&["step:a"], "x = 1"),
    ]);
    // Not last in the notebook.
    let d = p.diagnostics.iter().find(|d| d.code == "exit-step").expect("an exit-step error");
    assert!(d.message.contains("step `a` has cell 3 after it"), "{}", d.message);
    assert_eq!(d.cell, Some(1));

    let p = plan(&[
        (&["pipeline-parameters"], "NAME = 'n'"),
        (&["step:a"], "x = 1"),
        (&["step:notify", "finally"], "msg = NAME.upper()\nprint(msg, x)"),
    ]);
    let d = p.diagnostics.iter().find(|d| d.code == "exit-step").expect("an exit-step error");
    assert!(d.message.contains("reads `x` from step `a`"), "{}", d.message);
    assert_eq!((d.cell, d.span.map(|s| s.line)), (Some(2), Some(2)), "points at the read");

    let p = plan(&[
        (&["pipeline-parameters"], "NAME = 'n'"),
        (&["step:b"], "y = 2"),
        (&["step:a"], "x = y"),
        (&["step:notify", "finally", "prev:b"], "msg = NAME.upper()"),
    ]);
    assert!(errors(&p).is_empty(), "{:?}", p.diagnostics);
    assert!(warnings(&p).contains(&"ignored-tag"), "prev: on the exit step has no effect");
    assert_eq!(p.exit_step(), Some(2));
    assert_eq!(p.steps[2].name, "notify", "the exit step is planned last");
    assert!(p.steps[2].after.is_empty() && p.steps[2].inputs.is_empty());
    assert!(!p.steps[2].settings.cache, "not cached unless tagged");
    assert_eq!(p.steps[2].parameters, ["NAME"]);

    let p = plan(&[(&["step:a"], "x = 1"), (&["step:notify", "finally", "cache:enabled"], "y = 2")]);
    assert!(p.steps[1].settings.cache);
}

#[test]
fn one_exit_step_and_not_the_only_step() {
    let p = plan(&[(&["step:a"], "x = 1"), (&["step:b", "finally"], "y = 2"), (&["step:c", "finally"], "z = 3")]);
    let d = p.diagnostics.iter().find(|d| d.code == "exit-step" && d.cell == Some(2)).expect("two exit steps");
    assert!(d.message.contains("is the exit step already"), "{}", d.message);
    assert_eq!(p.exit_step(), Some(1), "the flag stays on the step; the error blocks the conversion");

    let p = plan(&[(&["step:only", "finally"], "x = 1")]);
    assert!(p.diagnostics.iter().any(|d| d.code == "exit-step" && d.message.contains("only step")));

    let p = plan(&[(&["imports", "finally"], "import os"), (&["step:a"], "x = 1")]);
    assert!(errors(&p).is_empty() && warnings(&p).contains(&"ignored-tag"), "{:?}", p.diagnostics);
    assert_eq!(p.exit_step(), None);
}

fn fan_out_error(cells: &[(&[&str], &str)]) -> crate::diagnostics::Diagnostic {
    let p = plan(cells);
    p.diagnostics
        .iter()
        .find(|d| d.code == "fan-out" && d.is_error())
        .cloned()
        .unwrap_or_else(|| panic!("no fan-out error: {:?}", p.diagnostics))
}

#[test]
fn a_for_step_runs_its_loop_once_per_item_and_collects_its_lists() {
    let p = plan(&[
        (&["pipeline-parameters"], "SIZES = [1, 2, 3]"),
        (&["step:load"], "data = [10, 20, 30]"),
        (
            &["step:fit", "for:SIZES", "parallelism:2"],
            "scores = []\nfor n in SIZES:\n    s = sum(data[:n])\n    scores.append(s)",
        ),
        (&["step:report"], "best = max(scores)"),
    ]);
    assert!(errors(&p).is_empty(), "{:?}", p.diagnostics);
    let f = step(&p, "fit").fan_out.clone().expect("a fan-out");
    assert_eq!((f.list.as_str(), f.source, f.parallelism), ("SIZES", ListSource::Parameter, Some(2)));
    assert_eq!(f.accumulators, ["scores"]);
    assert_eq!(inputs(&p, "report"), vec![("scores".into(), "fit".into())]);

    let p = plan(&[
        (&["step:load"], "items = ['a', 'b']"),
        (&["step:upper", "for:items"], "out = []\nfor it in items:\n    out.append(it.upper())"),
        (&["step:join"], "text = ''.join(out)"),
    ]);
    assert!(errors(&p).is_empty(), "{:?}", p.diagnostics);
    let producer = step(&p, "upper").fan_out.as_ref().unwrap().source;
    assert_eq!(producer, ListSource::Step(0));
}

#[test]
fn what_breaks_the_fan_out_rule_is_named_at_its_line() {
    let base = (&["step:load"][..], "items = [1, 2]\ntotal = 0");
    let e = fan_out_error(&[base, (&["step:f", "for:items"], "for x in items:\n    total += x")]);
    assert!(e.message.contains("changes `total`") && e.span.unwrap().line == 2, "{e:?}");
    let e = fan_out_error(&[
        base,
        (&["step:f", "for:items"], "out = []\nfor x in items:\n    out.append(x)\n    n = len(out)"),
    ]);
    assert!(e.message.contains("`out` collects") && e.span.unwrap().line == 4, "{e:?}");
    let e =
        fan_out_error(&[base, (&["step:f", "for:items"], "for x in items:\n    y = x + 1"), (&["step:g"], "print(y)")]);
    assert!(e.message.contains("`y`") && e.cell == Some(2), "the error is at the reader: {e:?}");
    let e = fan_out_error(&[base, (&["step:f", "for:items"], "for x in items:\n    print(len(items))")]);
    assert!(e.message.contains("reads `items`"), "{e:?}");
    let e = fan_out_error(&[base, (&["step:f", "for:other"], "for x in items:\n    pass")]);
    assert!(e.message.contains("tagged `for:other`"), "{e:?}");
    let e = fan_out_error(&[(&["pipeline-parameters"], "N = 3"), (&["step:f", "for:N"], "for x in N:\n    pass")]);
    assert!(e.message.contains("is a int"), "{e:?}");
    let e = fan_out_error(&[base, (&["step:f", "for:items"], "import random\nfor x in items:\n    pass")]);
    assert!(e.message.contains("only `name = []`"), "{e:?}");
    let e = fan_out_error(&[
        base,
        (&["imports"], "import random"),
        (&["step:f", "for:items"], "r = []\nfor x in items:\n    r.append(random.random())"),
    ]);
    assert!(e.message.contains("random"), "{e:?}");
    let e =
        fan_out_error(&[base, (&["step:f", "for:items"], "for x in items:\n    if prev:\n        pass\n    prev = x")]);
    assert!(e.message.contains("before binding it"), "{e:?}");
    let e = fan_out_error(&[
        (&["step:load"], "rows = [[1], [2]]"),
        (&["step:f", "for:rows"], "for r in rows:\n    r.append(0)"),
    ]);
    assert!(e.message.contains("items of `rows`"), "{e:?}");
}
