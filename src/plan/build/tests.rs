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
    build(&nb, settings, "test.ipynb", &|_| false)
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
fn mutation_through_an_alias_made_in_another_step_is_reported() {
    let p = plan(&[(&["step:one"], "a = [1]\nb = a"), (&["step:two"], "b.append(2)"), (&["step:three"], "n = len(a)")]);
    assert!(warnings(&p).contains(&"aliased-mutation"), "{:?}", p.diagnostics);
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
