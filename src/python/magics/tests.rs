//! Unit tests of IPython syntax detection, masking and translation.

use super::shell::shell_reads;
use super::*;

fn pre(src: &str) -> Preprocessed {
    let p = preprocess(src);
    assert_eq!(p.masked.len(), src.len(), "masking keeps the length");
    assert_eq!(
        p.program.matches('\n').count(),
        src.matches('\n').count(),
        "program keeps the line count: {:?}",
        p.program
    );
    p
}

fn parses(masked: &str) -> bool {
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&tree_sitter_python::LANGUAGE.into()).expect("grammar");
    !parser.parse(masked, None).expect("tree").root_node().has_error()
}

#[test]
fn line_magic_noop() {
    let p = pre("%matplotlib inline\nx = 1\n");
    assert!(parses(&p.masked), "{}", p.masked);
    assert!(!p.masked.contains("inline"));
    assert_eq!(p.magics[0].name, "matplotlib");
    assert_eq!(p.magics[0].args, "inline");
    assert_eq!(p.magics[0].handling, MagicHandling::NoOp);
    assert_eq!(p.program, "pass\nx = 1\n");
}

#[test]
fn shell_and_assign() {
    let p = pre("!ls -l\nfiles = !ls *.csv\n!!date\n");
    assert!(parses(&p.masked), "{}", p.masked);
    assert!(p.masked.starts_with("pass  \nfiles = ...      \n"), "{:?}", p.masked);
    let lines: Vec<&str> = p.program.lines().collect();
    assert_eq!(lines[0], "_nbkf_ipython.system('ls -l', globals(), locals())");
    assert_eq!(lines[1], "files = _nbkf_ipython.getoutput('ls *.csv', globals(), locals())");
    assert_eq!(lines[2], "_nbkf_ipython.system('date', globals(), locals())");
    assert_eq!(p.magics[1].kind, MagicKind::ShellAssign { target: "files".into() });
}

#[test]
fn short_constructs_get_short_placeholders() {
    let p = pre("!ls\na?\n?b\nx = !l\n");
    assert!(parses(&p.masked), "{:?}", p.masked);
    assert_eq!(p.magics.len(), 4);
}

#[test]
fn indented_shell_keeps_indentation_and_reads_dollar_names() {
    let p = pre("for f in files:\n    !echo $f {f.upper()} '$notme' $$HOME\n");
    assert!(parses(&p.masked), "{}", p.masked);
    assert!(
        p.program
            .contains("\n    _nbkf_ipython.system('echo $f {f.upper()} \\'$notme\\' $$HOME', globals(), locals())"),
        "{}",
        p.program
    );
    let reads: Vec<String> = p.shell_reads.values().flatten().map(|r| r.0.clone()).collect();
    assert_eq!(reads, vec!["f", "f"]);
}

#[test]
fn shell_read_forms() {
    let r: Vec<String> = shell_reads("echo ${a} $b.c {d + e.f} {{g}} $$h").into_iter().map(|r| r.0).collect();
    assert_eq!(r, vec!["a", "b", "d", "e"]);
}

#[test]
fn pip_variants() {
    for line in [
        "%pip install -q pandas==2.1 -U scikit-learn",
        "!pip install -q pandas==2.1 -U scikit-learn",
        "!pip3 install --upgrade pandas==2.1 scikit-learn",
        "!python -m pip install pandas==2.1 scikit-learn",
        "%conda install -c conda-forge pandas==2.1 scikit-learn -y",
    ] {
        let p = pre(&format!("{line}\n"));
        assert_eq!(p.pip_packages, vec!["pandas==2.1", "scikit-learn"], "{line}");
        assert_eq!(p.magics[0].handling, MagicHandling::Packages, "{line}");
        assert_eq!(p.program, "pass\n");
        assert!(parses(&p.masked));
    }
    let p = pre("%pip install -r requirements.txt torch\n");
    assert_eq!(p.pip_packages, vec!["torch"]);
    assert_eq!(p.requirement_files.len(), 1);
    assert_eq!(p.requirement_files[0].0, "requirements.txt");
    // The corpus case: redirections are not packages, and nothing runs in the step.
    let p = pre("!pip3 install PyGithub pandas > /dev/null 2>&1\n");
    assert_eq!(p.pip_packages, vec!["PyGithub", "pandas"]);
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(p.program, "pass\n");
    // What else the command does still runs.
    let p = pre("!pip install x && echo done\n");
    assert_eq!(p.pip_packages, vec!["x"]);
    assert!(p.program.contains("echo done") && !p.program.contains("pip"), "{}", p.program);
}

#[test]
fn time_and_timeit() {
    let p = pre("%time y = f(x)\nz = %time g(y)\n%timeit -n 10 h(z)\n");
    assert!(parses(&p.masked), "{}", p.masked);
    assert!(p.masked.starts_with("if 1: y = f(x)\nz =       g(y)\n"), "{:?}", p.masked);
    let lines: Vec<&str> = p.program.lines().collect();
    assert_eq!(lines[0], "_nbkf_ipython.time('y = f(x)', globals(), locals())");
    assert_eq!(lines[1], "z = _nbkf_ipython.time('g(y)', globals(), locals())");
    assert_eq!(lines[2], "_nbkf_ipython.timeit('h(z)', globals(), locals())");
    assert_eq!(p.problems.len(), 1);
    assert_eq!(p.problems[0].severity, ProblemSeverity::Warning);
}

#[test]
fn env_cd_run_unsupported() {
    let p = pre("%env A=1\n%set_env B 2\n%cd /tmp\n%run train.py --x 1\n%store df\n");
    assert!(parses(&p.masked), "{}", p.masked);
    let lines: Vec<&str> = p.program.lines().collect();
    assert_eq!(lines[0], "_nbkf_ipython.env('A=1')");
    assert_eq!(lines[1], "_nbkf_ipython.env('B 2')");
    assert_eq!(lines[2], "_nbkf_ipython.cd('/tmp')");
    assert_eq!(lines[3], "_nbkf_ipython.run('train.py --x 1', globals())");
    assert_eq!(lines[4], "_nbkf_ipython.unsupported('%store df')");
    assert_eq!(p.magics[4].handling, MagicHandling::Unsupported);
    assert!(p
        .problems
        .iter()
        .any(|pr| pr.severity == ProblemSeverity::Error && pr.message == "%store is not supported in a pipeline step"));
    assert!(p.problems.iter().any(|pr| pr.severity == ProblemSeverity::Warning && pr.message.contains("%run")));
}

#[test]
fn help_forms() {
    let p = pre("df?\ndf.head??\n?len\n");
    assert!(parses(&p.masked), "{}", p.masked);
    assert!(p.magics.iter().all(|m| m.kind == MagicKind::Help && m.handling == MagicHandling::NoOp));
    assert_eq!(p.magics[1].args, "df.head");
    assert_eq!(p.program, "pass\npass\npass\n");
}

#[test]
fn magics_in_strings_and_comments_are_left_alone() {
    let src = "s = \"\"\"\n%matplotlib inline\n!ls\n\"\"\"\n# !ls\nt = '!x'\nu = (1,\n!2)\n";
    let p = pre(src);
    assert!(p.magics.is_empty());
    assert_eq!(p.masked, src);
    assert_eq!(p.program, src);
}

#[test]
fn continuation_lines_are_joined() {
    let p = pre("!echo a \\\n  b\nx = 1\n");
    assert!(parses(&p.masked), "{:?}", p.masked);
    assert_eq!(p.magics[0].args, "echo a    b");
    assert_eq!(p.program, "_nbkf_ipython.system('echo a    b', globals(), locals())\n\nx = 1\n");
}

#[test]
fn unbalanced_quote_in_magic_does_not_leak() {
    let p = pre("!echo it's\n!echo more\n");
    assert_eq!(p.magics.len(), 2);
}

#[test]
fn cell_magics() {
    let p = pre("%%capture out\nx = 1\n!ls\n");
    assert!(parses(&p.masked), "{}", p.masked);
    assert!(p.masked.starts_with("#%capture out\nx = 1\n0  \n"), "{:?}", p.masked);
    assert_eq!(p.program, "\nx = 1\n_nbkf_ipython.system('ls', globals(), locals())\n");
    let cm = p.cell_magic.as_ref().expect("cell magic");
    assert!(cm.python_body);
    assert_eq!(cm.body, "x = 1\n!ls\n");
    assert_eq!(p.cell_magic_binds[0].0, "out");

    let p = pre("%%bash\necho $HOME\nls\n");
    assert!(parses(&p.masked));
    assert!(p.shell_reads.is_empty());
    assert_eq!(p.program, "\necho $HOME\nls\n");
    assert!(!p.cell_magic.as_ref().expect("cm").python_body);
    assert_eq!(p.magics[0].handling, MagicHandling::Translated);

    let p = pre("%%html\n<b>x</b>");
    assert_eq!(p.magics[0].handling, MagicHandling::NoOp);
    let p = pre("%%sql\nselect 1");
    assert_eq!(p.magics[0].handling, MagicHandling::Unsupported);
    assert_eq!(p.problems[0].severity, ProblemSeverity::Error);
    let p = pre("x = 1\n%%time\n");
    assert_eq!(p.problems[0].severity, ProblemSeverity::Error);
}

#[test]
fn automagic_candidates() {
    let p = pre("pip install x\nls = 3\n");
    assert_eq!(p.automagic_candidates, vec![(0, "pip install x".to_string())]);
}

#[test]
fn non_magic_operators() {
    let src = "a = b % c\nx != y\nd = {'k': 1}\n";
    let p = pre(src);
    assert!(p.magics.is_empty());
    assert_eq!(p.masked, src);
}

#[test]
fn line_index_counts_chars() {
    let idx = LineIndex::new("ab\néé x");
    let s = idx.span(8, 9);
    assert_eq!((s.line, s.column), (2, 4));
}
