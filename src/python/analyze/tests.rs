use super::*;
use crate::python::{Arg, DefinitionKind, MagicHandling, ProblemSeverity, ValueHint};

/// A compact rendering of effects: `R x`, `R? x` (conditional), `r x` (soft), `B x`,
/// `b x` (conditional), `b! x` (conditional, bound on every path), `M x`, `M x.a.b`
/// (through attributes), `D x`, `MC x.a.b`, `MC! x.a` (inplace), `C f(a,_,$0;k=c)`
/// (`$0`: the enclosing function's first parameter), `* m`, `S setting`.
fn fx(effects: &[Effect]) -> Vec<String> {
    let arg = |a: &Arg| match a {
        Arg::Name(n) => n.clone(),
        Arg::Param(i) => format!("${i}"),
        Arg::Names(ns) => format!("[{}]", ns.join(",")),
        Arg::Other => "_".into(),
    };
    effects
        .iter()
        .map(|e| match e {
            Effect::Read { name, soft, conditional, .. } => {
                format!(
                    "{} {name}",
                    if *soft {
                        "r"
                    } else if *conditional {
                        "R?"
                    } else {
                        "R"
                    }
                )
            }
            Effect::Bind { name, conditional, exhaustive, .. } => {
                format!(
                    "{} {name}",
                    if *exhaustive {
                        "b!"
                    } else if *conditional {
                        "b"
                    } else {
                        "B"
                    }
                )
            }
            Effect::Mutate { name, path, .. } if path.is_empty() => format!("M {name}"),
            Effect::Mutate { name, path, .. } => format!("M {name}.{}", path.join(".")),
            Effect::Delete { name, .. } => format!("D {name}"),
            Effect::MethodCall { receiver, path, inplace, args, kwargs, .. } => {
                let mut s = format!("MC{} {receiver}.{}", if *inplace { "!" } else { "" }, path.join("."));
                if args.iter().chain(kwargs.iter().map(|(_, a)| a)).any(|a| !matches!(a, Arg::Other)) {
                    let a: Vec<String> = args.iter().map(arg).collect();
                    let k: Vec<String> = kwargs.iter().map(|(k, v)| format!("{k}={}", arg(v))).collect();
                    s.push_str(&format!("({};{})", a.join(","), k.join(",")));
                }
                s
            }
            Effect::Call { callee, args, kwargs, .. } => {
                let a: Vec<String> = args.iter().map(arg).collect();
                let k: Vec<String> = kwargs.iter().map(|(k, v)| format!("{k}={}", arg(v))).collect();
                let callee = if callee.is_empty() { "?" } else { callee };
                format!("C {callee}({};{})", a.join(","), k.join(","))
            }
            Effect::SetState { setting, .. } => format!("S {setting}"),
            Effect::StarImport { module, .. } => format!("* {module}"),
            Effect::Alias { name, of, .. } => format!("A {name}<-{}", of.join(",")),
            Effect::Value { name, hint, .. } => match hint {
                ValueHint::Lambda => format!("V {name}: lambda"),
                ValueHint::Unserializable { what } => format!("V {name}: {what}"),
            },
            Effect::DynamicNamespace { call, .. } => format!("DN {call}"),
            Effect::FileWrite { path, .. } => format!("FW {path}"),
            Effect::FileRead { path, .. } => format!("FR {path}"),
            Effect::FileUnknown { call, write, .. } => {
                format!("FU{} {call}", if *write { "w" } else { "r" })
            }
        })
        .collect()
}

/// Whether an effect is one of the alias/value/namespace/file effects (left out by
/// [`effects`], so the older tests state only the scope effects).
fn is_resource_effect(e: &Effect) -> bool {
    matches!(
        e,
        Effect::Alias { .. }
            | Effect::Value { .. }
            | Effect::DynamicNamespace { .. }
            | Effect::FileWrite { .. }
            | Effect::FileRead { .. }
            | Effect::FileUnknown { .. }
    )
}

fn cell(src: &str) -> CellFacts {
    let f = analyze_cell(src);
    assert_eq!(f.program.matches('\n').count(), src.matches('\n').count());
    f
}

fn effects(src: &str) -> Vec<String> {
    let f = cell(src);
    assert!(f.problems.iter().all(|p| p.severity != ProblemSeverity::Error), "{:?}", f.problems);
    let scope: Vec<Effect> = f.effects.into_iter().filter(|e| !is_resource_effect(e)).collect();
    fx(&scope)
}

/// All effects, scope and resource ones.
fn all_effects(src: &str) -> Vec<String> {
    let f = cell(src);
    assert!(f.problems.iter().all(|p| p.severity != ProblemSeverity::Error), "{:?}", f.problems);
    fx(&f.effects)
}

/// Only the resource effects (alias, value, namespace, files) of a cell.
fn res(src: &str) -> Vec<String> {
    let f = cell(src);
    let kept: Vec<Effect> = f.effects.into_iter().filter(is_resource_effect).collect();
    fx(&kept)
}

/// Only the resource effects in the call effects of the cell's first definition.
fn call_res(src: &str) -> Vec<String> {
    let f = cell(src);
    let kept: Vec<Effect> = f.definitions[0].call_effects.iter().filter(|e| is_resource_effect(e)).cloned().collect();
    fx(&kept)
}

#[test]
fn assignment_order() {
    assert_eq!(effects("x = f(y)\n"), ["R f", "R y", "C f(y;)", "B x"]);
    assert_eq!(effects("a = b = c\n"), ["R c", "B a", "B b"]);
    assert_eq!(effects("x += v\n"), ["R x", "R v", "B x"]);
    assert_eq!(effects("x: T = v\ny: int\n"), ["R T", "R v", "B x", "R int"]);
    assert_eq!(effects("a, (b, *c) = t\n"), ["R t", "B a", "B b", "B c"]);
}

#[test]
fn mutations() {
    assert_eq!(effects("x.append(1)\n"), ["R x", "MC x.append"]);
    assert_eq!(effects("x[k] = v\n"), ["R v", "R x", "R k", "M x"]);
    assert_eq!(effects("x.a = v\n"), ["R v", "R x", "M x.a"]);
    assert_eq!(effects("x.a[k] = v\n"), ["R v", "R x", "R k", "M x.a"]);
    assert_eq!(effects("del x[k]\ndel y.a\ndel z\n"), ["R x", "R k", "M x", "R y", "M y.a", "D z"]);
    assert_eq!(effects("x[0] += 1\n"), ["R x", "M x"]);
    assert_eq!(effects("df.drop(columns=c, inplace=True)\n"), ["R df", "R c", "MC! df.drop(;columns=c,inplace=_)"]);
    assert_eq!(effects("np.random.seed(0)\n"), ["R np", "MC np.random.seed"]);
    assert_eq!(effects("random.shuffle(x)\n"), ["R random", "R x", "MC random.shuffle(x;)", "M x"]);
    assert_eq!(effects("heapq.heappush(h, 1)\n"), ["R heapq", "R h", "MC heapq.heappush(h,_;)", "M h"]);
    assert_eq!(effects("v = next(it)\n"), ["R next", "R it", "C next(it;)", "M it", "B v"]);
    assert_eq!(effects("f(a, 1, k=c, j=2)\n"), ["R f", "R a", "R c", "C f(a,_;k=c,j=_)"]);
    // Module settings are changed through attribute paths.
    assert_eq!(effects("os.environ['K'] = 'v'\n"), ["R os", "M os.environ"]);
    assert_eq!(effects("pd.options.display.precision = 3\n"), ["R pd", "M pd.options.display.precision"]);
}

#[test]
fn setattr_out_and_vars_change_what_they_name() {
    assert_eq!(effects("setattr(obj, 'a', 1)\n"), ["R setattr", "R obj", "C setattr(obj,_,_;)", "M obj.a"]);
    assert_eq!(effects("delattr(obj, name)\n"), ["R delattr", "R obj", "R name", "C delattr(obj,name;)", "M obj"]);
    assert_eq!(effects("np.add(a, b, out=c)\n"), ["R np", "R a", "R b", "R c", "MC np.add(a,b;out=c)", "M c"]);
    assert_eq!(
        effects("np.divmod(a, b, out=(q, r))\n"),
        ["R np", "R a", "R b", "R q", "R r", "MC np.divmod(a,b;out=[q,r])", "M q", "M r"]
    );
    assert_eq!(
        effects("vars(cfg).update(d)\n"),
        ["R vars", "R cfg", "C vars(cfg;)", "R d", "MC cfg.__dict__.update(d;)"]
    );
    assert_eq!(effects("make()(x)\n"), ["R make", "C make(;)", "R x", "C ?(x;)"]);
    assert_eq!(effects("f([a, 1], {'k': b})\n"), ["R f", "R a", "R b", "C f([a],[b];)"]);
}

#[test]
fn arguments_name_parameters_of_top_level_functions() {
    let f = cell("def f(a, b):\n    g(b, a, c)\n    np.copyto(a, b)\n    def h(p):\n        g(p)\n");
    assert_eq!(
        fx(&f.definitions[0].call_effects),
        ["r g", "r c", "C g($1,$0,c;)", "r np", "MC np.copyto($0,$1;)", "r g", "C g(_;)"]
    );
}

#[test]
fn identifiers_are_compared_as_python_compares_them() {
    // MICRO SIGN and GREEK SMALL LETTER MU are one name after NFKC normalisation.
    assert_eq!(effects("\u{b5} = 1\nprint(\u{3bc})\n"), ["B \u{3bc}", "R print", "R \u{3bc}", "C print(\u{3bc};)"]);
    let f = cell("def f(\u{b5}):\n    return \u{3bc}\n");
    assert_eq!(
        fx(&f.definitions[0].call_effects),
        Vec::<String>::new(),
        "the parameter is local under either spelling"
    );
}

#[test]
fn imports_in_try_except_import_error_are_optional() {
    let f = cell("try:\n    from StringIO import StringIO\nexcept ImportError:\n    from io import StringIO\nimport pandas\ntry:\n    import ujson\nexcept Exception:\n    ujson = None\ntry:\n    import numpy\nexcept ValueError:\n    pass\n");
    let modules: Vec<(&str, bool)> = f.imports.iter().map(|i| (i.module.as_str(), i.optional)).collect();
    assert_eq!(modules, [("StringIO", true), ("io", false), ("pandas", false), ("ujson", true), ("numpy", false)]);
}

#[test]
fn bindings_on_every_path_are_exhaustive() {
    assert_eq!(effects("if c:\n    x = 1\nelse:\n    x = 2\n"), ["R c", "b! x", "b! x"]);
    assert_eq!(effects("if c:\n    x = 1\n"), ["R c", "b x"]);
    assert_eq!(
        effects("try:\n    x = f()\nexcept ValueError:\n    x = None\n"),
        ["R? f", "C f(;)", "b! x", "R? ValueError", "b! x"]
    );
    assert_eq!(effects("for i in r:\n    x = i\n"), ["R r", "b i", "R? i", "b x"]);
}

#[test]
fn ipython_settings() {
    let f = cell("%env MODE=fast\n%cd data\n%env MODE\n");
    assert_eq!(fx(&f.effects), ["S os.environ", "S os.chdir"]);
}

#[test]
fn control_flow_is_conditional() {
    assert_eq!(effects("for i in xs:\n    y = i\n"), ["R xs", "b i", "R? i", "b y"]);
    assert_eq!(effects("if c:\n    a = 1\nelse:\n    b = 2\n"), ["R c", "b a", "b b"]);
    assert_eq!(effects("with open(p) as fh:\n    d = fh\n"), ["R open", "R p", "C open(p;)", "B fh", "R fh", "B d"]);
    assert_eq!(effects("while c:\n    n = 1\n"), ["R c", "b n"]);
}

#[test]
fn except_as_is_deleted() {
    assert_eq!(
        effects("try:\n    a = f()\nexcept ValueError as e:\n    m = e\n"),
        ["R? f", "C f(;)", "b a", "R? ValueError", "b e", "R? e", "b m", "D e"]
    );
}

#[test]
fn name_error_guard_makes_reads_soft() {
    assert_eq!(effects("try:\n    x\nexcept NameError:\n    x = 1\n"), ["r x", "R? NameError", "b x"]);
    assert_eq!(effects("try:\n    x\nexcept:\n    pass\n"), ["r x"]);
    assert_eq!(effects("try:\n    x\nexcept KeyError:\n    pass\n"), ["R? x", "R? KeyError"]);
}

#[test]
fn comprehensions_and_walrus() {
    assert_eq!(effects("ys = [y * k for y in xs if y]\n"), ["R xs", "R k", "B ys"]);
    assert_eq!(effects("ys = [(last := y) for y in xs]\n"), ["R xs", "b last", "B ys"]);
    assert_eq!(effects("d = {k: v for k, v in items.items()}\n"), ["R items", "MC items.items", "B d"]);
    assert_eq!(effects("if (n := len(a)) > 1:\n    pass\n"), ["R len", "R a", "C len(a;)", "B n"]);
    assert_eq!(effects("s = sum(x for x in xs)\n"), ["R sum", "R xs", "C sum(_;)", "B s"]);
}

#[test]
fn lambdas_read_softly() {
    assert_eq!(effects("f = lambda a, b=d: a + g(b) + c\n"), ["R d", "r g", "C g(_;)", "r c", "B f"]);
}

#[test]
fn imports() {
    let f = cell("import a.b.c\nimport a.b as ab\nfrom m import x as y, z\nfrom . import loc\nfrom n import *\nfrom __future__ import annotations\n");
    assert_eq!(fx(&f.effects), ["B a", "B ab", "B y", "B z", "B loc", "* n"]);
    let kinds: Vec<&BindKind> =
        f.effects.iter().filter_map(|e| if let Effect::Bind { kind, .. } = e { Some(kind) } else { None }).collect();
    assert_eq!(
        kinds[0],
        &BindKind::Import { module: "a.b.c".into(), attribute: None, statement: "import a.b.c".into() }
    );
    assert_eq!(
        kinds[1],
        &BindKind::Import { module: "a.b".into(), attribute: None, statement: "import a.b as ab".into() }
    );
    assert_eq!(
        kinds[2],
        &BindKind::Import { module: "m".into(), attribute: Some("x".into()), statement: "from m import x as y".into() }
    );
    assert_eq!(
        kinds[4],
        &BindKind::Import { module: ".".into(), attribute: Some("loc".into()), statement: "from . import loc".into() }
    );
    let modules: Vec<&str> = f.imports.iter().map(|i| i.module.as_str()).collect();
    assert_eq!(modules, ["a.b.c", "a.b", "m", ".", "n"]);
}

#[test]
fn imports_inside_functions_are_listed_but_local() {
    let f = cell("def f():\n    import os\n    try:\n        import ujson as json\n    except ImportError:\n        json = None\n    return os.getcwd(), json\n");
    let modules: Vec<(&str, bool)> = f.imports.iter().map(|i| (i.module.as_str(), i.optional)).collect();
    assert_eq!(modules, [("os", false), ("ujson", true)]);
    assert_eq!(fx(&f.definitions[0].call_effects), ["r ImportError"]);
}

#[test]
fn functions_defer_their_reads() {
    let f = cell("@deco(a)\ndef f(p, q=dflt, *args, k: T = 1, **kw):\n    loc = p + g\n    h(loc)\n    return [loc for _ in q]\nf(x)\n");
    assert_eq!(fx(&f.effects), ["R deco", "R a", "C deco(a;)", "R dflt", "r T", "B f", "R f", "R x", "C f(x;)"]);
    let d = &f.definitions[0];
    assert_eq!(d.name, "f");
    assert_eq!(fx(&d.call_effects), ["r g", "r h", "C h(_;)"]);
    assert!(d.source.starts_with("@deco(a)\ndef f("));
    assert!(d.source.ends_with("return [loc for _ in q]"));
    assert!(matches!(f.effects[5], Effect::Bind { kind: BindKind::Definition(0), .. }));
}

#[test]
fn globals_in_functions() {
    let f = cell(
        "def inc():\n    global counter, gone\n    counter += 1\n    del gone\n    cache[1] = 2\n    log.append(1)\n",
    );
    assert_eq!(
        fx(&f.definitions[0].call_effects),
        ["r counter", "b counter", "D gone", "r cache", "M cache", "r log", "MC log.append"]
    );
    assert!(f.effects.len() == 1);
}

#[test]
fn nonlocal_and_nested_functions() {
    let f = cell("def outer():\n    n = 0\n    def inner():\n        nonlocal n\n        n += 1\n        return m\n    return inner\n");
    assert_eq!(fx(&f.definitions[0].call_effects), ["r m"]);
    assert_eq!(f.definitions.len(), 1);
}

#[test]
fn mutated_params() {
    let f =
        cell("def f(a, b, c, d, e):\n    a.append(1)\n    b[0] = 1\n    c.x += 1\n    random.shuffle(d)\n    e = 3\n");
    assert_eq!(
        f.definitions[0].mutated_params,
        [(0, "a".to_string()), (1, "b".into()), (2, "c".into()), (3, "d".into())]
    );
}

#[test]
fn classes() {
    let src = "class C(Base, metaclass=M):\n    k = v\n    j = k + w\n    def __init__(self, data):\n        self.data = data\n        data.clear()\n    def m(self):\n        return k + z\n";
    let f = cell(src);
    assert_eq!(fx(&f.effects), ["R Base", "R M", "R v", "R w", "B C"]);
    let d = &f.definitions[0];
    assert_eq!(d.kind, DefinitionKind::Class);
    assert_eq!(fx(&d.call_effects), ["r k", "r z"]);
    assert_eq!(d.mutated_params, [(0, "data".to_string())]);
    assert_eq!(d.source, src.trim_end());
}

#[test]
fn fstrings() {
    assert_eq!(effects("s = f\"{a!r:{w}} {b.c} {d['k']}\"\n"), ["R a", "R w", "R b", "R d", "B s"]);
}

#[test]
fn match_statement() {
    let e = effects("match p:\n    case Point(x=0, y=yy) | [a, *rest] as whole:\n        pass\n    case Color.RED:\n        pass\n    case _:\n        pass\n");
    assert_eq!(e, ["R p", "R? Point", "b yy", "b a", "b rest", "b whole", "R? Color"]);
}

#[test]
fn type_alias_and_type_params() {
    assert_eq!(effects("type Vec[T] = list[T]\ndef f[T](x: T) -> T:\n    return x\n"), ["B Vec", "B f"]);
}

#[test]
fn magics_in_analysis() {
    let f = cell("%matplotlib inline\nfiles = !ls {d}/*.csv\n!echo $n\n%time y = f(files)\n");
    assert_eq!(fx(&f.effects), ["r d", "B files", "r n", "R f", "R files", "C f(files;)", "B y"]);
    assert!(f.problems.is_empty(), "{:?}", f.problems);
    assert_eq!(f.magics.len(), 4);
}

#[test]
fn cell_magic_bodies() {
    let f = cell("%%capture out\nx = g(1)\n");
    assert_eq!(fx(&f.effects), ["R g", "C g(_;)", "B x", "B out"]);
    assert_eq!(f.program, "\nx = g(1)\n");
    let f = cell("%%time\ndef h():\n    return q\n");
    assert_eq!(f.definitions[0].source, "def h():\n    return q");
    let f = cell("%%bash\necho $x\n");
    assert!(f.effects.is_empty());
    assert_eq!(f.magics[0].handling, MagicHandling::Translated);
}

#[test]
fn definition_source_uses_translated_program() {
    let f = cell("if True:\n    def f():\n        !ls\n");
    assert_eq!(f.definitions[0].source, "def f():\n    _nbkf_ipython.system('ls', globals(), locals())");
}

#[test]
fn python2_and_syntax_errors() {
    let f = cell("print \"hi\"\n");
    assert!(f.problems.iter().any(|p| p.message.starts_with("Python 2 syntax")), "{:?}", f.problems);
    let f = cell("x = (1,\ny = 2 +\n");
    let p = f.problems.iter().find(|p| p.message == "invalid Python syntax").expect("syntax error");
    assert!(p.span.line >= 1);
    let f = cell("pip install pandas\n");
    assert!(
        f.problems
            .iter()
            .any(|p| p.hint.as_deref() == Some("write `%pip install pandas` (IPython automagic is not supported)")),
        "{:?}",
        f.problems
    );
}

#[test]
fn spans_are_one_based_in_chars() {
    let f = cell("é = 1\nz = é\n");
    let Effect::Read { span, .. } = &f.effects[1] else { panic!("{:?}", f.effects) };
    assert_eq!((span.line, span.column), (2, 5));
}

#[test]
fn robustness() {
    for src in [
        "",
        "# only a comment\n",
        "\n\n",
        "x = 1\r\ny = x\r\n",
        "\tif a:\n\t\tb",
        "def f(:\n",
        "%",
        "!",
        "?",
        "%%",
        "x = !",
        "\u{feff}x=1",
    ] {
        let _ = analyze_cell(src);
    }
    assert_eq!(effects("x = 1\r\ny = x\r\n"), ["B x", "R x", "B y"]);
    let deep = format!("x = {}1{}\n", "(".repeat(5000), ")".repeat(5000));
    let f = analyze_cell(&deep);
    assert!(!f.problems.is_empty());
    let deep_blocks: String =
        (0..300).map(|i| format!("{}if a:\n", " ".repeat(i))).collect::<String>() + &" ".repeat(300) + "pass\n";
    let _ = analyze_cell(&deep_blocks);
    let big = "x = [1, 2, 3]\ny = x[0] + f(x)\n".repeat(20_000);
    let f = analyze_cell(&big);
    assert_eq!(f.effects.len(), 20_000 * 6);
}

// ----- aliases, value hints, dynamic namespaces, files ---------------------------

#[test]
fn alias_follows_its_bind() {
    assert_eq!(all_effects("b = a\n"), ["R a", "B b", "A b<-a"]);
    assert_eq!(all_effects("b = c = a\n"), ["R a", "B b", "A b<-a", "B c", "A c<-a"]);
    assert_eq!(res("b = a.attr\n"), ["A b<-a"]);
    assert_eq!(res("b = a[k]\n"), ["A b<-a"]);
    assert_eq!(res("b = a.x[0].y\n"), ["A b<-a"]);
    assert_eq!(res("b = [a, c]\n"), ["A b<-a,c"]);
    assert_eq!(res("b = (a, c)\n"), ["A b<-a,c"]);
    assert_eq!(res("b = a, c\n"), ["A b<-a,c"]);
    assert_eq!(res("b = {a, c}\n"), ["A b<-a,c"]);
    assert_eq!(res("b = {'k': a, 'x': c}\n"), ["A b<-a,c"]);
    assert_eq!(res("b = {'k': [a, (c, d)], 'x': {'y': e}}\n"), ["A b<-a,c,d,e"]);
    assert_eq!(res("b = [a, a]\n"), ["A b<-a"]);
    assert_eq!(res("b = [*a, c]\n"), ["A b<-a,c"]);
    assert_eq!(res("b = a if cond else c\n"), ["A b<-a,c"]);
    assert_eq!(res("b = a or c\n"), ["A b<-a,c"]);
}

#[test]
fn alias_of_unpacking() {
    assert_eq!(all_effects("b, c = a\n"), ["R a", "B b", "A b<-a", "B c", "A c<-a"]);
    assert_eq!(res("b, c = a, d\n"), ["A b<-a", "A c<-d"]);
    assert_eq!(res("b, (c, e) = a, (d, f)\n"), ["A b<-a", "A c<-d", "A e<-f"]);
    assert_eq!(res("b, *c = a, d, e\n"), ["A b<-a,d,e", "A c<-a,d,e"]);
    assert_eq!(res("b, c = a, f(d)\n"), ["A b<-a"]);
}

#[test]
fn no_alias_for_new_values() {
    for src in [
        "b = f(a)\n",
        "b = a.copy()\n",
        "b = a + c\n",
        "b = -a\n",
        "b = 1\n",
        "b = 'a'\n",
        "b = [x for x in a]\n",
        "b = [f(a), g(c)]\n",
        "b = {k: a for k in c}\n",
        "b = lambda: a\n",
        "b = a < c\n",
        "b = not a\n",
        "x[0] = a\n",
        "x.y = a\n",
        "b += a\n",
    ] {
        assert!(res(src).iter().all(|e| !e.starts_with("A ")), "{src}: {:?}", res(src));
    }
    assert_eq!(res("b = [f(a), c]\n"), ["A b<-c"]);
}

#[test]
fn alias_only_at_module_level() {
    assert!(res("def f():\n    b = a\n    global g\n    g = a\n").is_empty());
    assert!(call_res("def f():\n    global g\n    g = a\n").is_empty());
    assert!(res("class C:\n    b = a\n").is_empty());
    assert!(res("[b for b in a]\n").is_empty());
    assert_eq!(res("if t:\n    b = a\n"), ["A b<-a"]);
    let f = cell("if t:\n    b = a\n");
    assert!(matches!(&f.effects[2], Effect::Bind { conditional: true, .. }));
}

#[test]
fn alias_of_loop_targets() {
    assert_eq!(all_effects("for b in xs:\n    pass\n"), ["R xs", "b b", "A b<-xs"]);
    assert_eq!(res("for b in [a, c]:\n    pass\n"), ["A b<-a,c"]);
    assert_eq!(res("for b in a, c:\n    pass\n"), ["A b<-a,c"]);
    assert_eq!(res("for b in self.items:\n    pass\n"), ["A b<-self"]);
    assert_eq!(res("for i, b in enumerate(xs):\n    pass\n"), ["A b<-xs"]);
    assert_eq!(res("for i, b in enumerate(xs, start=1):\n    pass\n"), ["A b<-xs"]);
    assert_eq!(res("for a, b in zip(xs, ys):\n    pass\n"), ["A a<-xs", "A b<-ys"]);
    assert_eq!(res("for i, (a, b) in enumerate(zip(xs, ys)):\n    pass\n"), ["A a<-xs", "A b<-ys"]);
    assert_eq!(res("for k, v in d.items():\n    pass\n"), ["A k<-d", "A v<-d"]);
    assert_eq!(res("for v in d.values():\n    pass\n"), ["A v<-d"]);
    assert_eq!(res("for a, b in pairs:\n    pass\n"), ["A a<-pairs", "A b<-pairs"]);
    assert!(res("for i in range(n):\n    pass\n").is_empty());
    assert!(res("for b in sorted(xs):\n    pass\n").is_empty());
    assert!(res("def f():\n    for b in xs:\n        pass\n").is_empty());
}

#[test]
fn value_hints_of_open_files() {
    assert_eq!(
        all_effects("f = open('a.txt')\n"),
        ["R open", "C open(_;)", "FR a.txt", "B f", "V f: an open file (`open(...)`)"]
    );
    assert_eq!(res("import gzip\nf = gzip.open(p, 'rt')\n"), ["FUr gzip.open", "V f: an open file (`gzip.open(...)`)"]);
    assert_eq!(res("f = io.open(p)\n"), ["FUr io.open", "V f: an open file (`io.open(...)`)"]);
    assert_eq!(res("t = tempfile.NamedTemporaryFile()\n"), ["V t: an open file (`tempfile.NamedTemporaryFile()`)"]);
    assert_eq!(res("t = TemporaryFile()\n"), ["V t: an open file (`TemporaryFile()`)"]);
    assert_eq!(res("with open('a.txt') as f:\n    pass\n"), ["FR a.txt", "V f: an open file (`open(...)`)"]);
    assert_eq!(
        res("with open('a') as f, open('b', 'w') as g:\n    pass\n"),
        ["FR a", "V f: an open file (`open(...)`)", "FW b", "V g: an open file (`open(...)`)"]
    );
    assert_eq!(res("f = Path('a').open()\n"), ["FR a", "V f: an open file (`Path('a').open(...)`)"]);
    // Not the file: what is read from it.
    assert_eq!(res("s = open('a').read()\n"), ["FR a"]);
    assert!(res("def g():\n    f = open(p)\n").is_empty());
}

#[test]
fn value_hints_of_generators_and_lambdas() {
    assert_eq!(all_effects("g = (x for x in y)\n"), ["R y", "B g", "V g: a generator"]);
    assert_eq!(res("f = lambda x: x\n"), ["V f: lambda"]);
    assert_eq!(res("f = (lambda: 1)\n"), ["V f: lambda"]);
    assert_eq!(res("def gen():\n    yield 1\ng = gen()\n"), ["V g: a generator (`gen()` yields)"]);
    assert_eq!(res("def gen():\n    yield from range(3)\ng = gen()\n"), ["V g: a generator (`gen()` yields)"]);
    // No yield of its own, only in a nested function; decorated (`@contextmanager`).
    assert!(res("def f():\n    def g():\n        yield 1\n    return g\nx = f()\n").is_empty());
    assert!(res("@contextmanager\ndef f():\n    yield 1\nx = f()\n").is_empty());
    // A list comprehension, a call of an unknown function.
    assert!(res("g = [x for x in y]\n").is_empty());
    assert!(res("g = gen()\n").is_empty());
    assert!(res("g = list(x for x in y)\n").is_empty());
}

#[test]
fn value_hints_of_unserializable_objects() {
    let one = |src: &str| -> String {
        let r = res(src);
        assert_eq!(r.len(), 1, "{src}: {r:?}");
        r[0].clone()
    };
    assert_eq!(one("l = threading.Lock()\n"), "V l: a lock (`threading.Lock()`)");
    assert_eq!(one("l = RLock()\n"), "V l: a lock (`RLock()`)");
    assert_eq!(one("t = threading.Thread(target=f)\n"), "V t: a thread (`threading.Thread(...)`)");
    assert_eq!(one("p = multiprocessing.Pool(4)\n"), "V p: a process pool (`multiprocessing.Pool(...)`)");
    assert_eq!(one("from multiprocessing import Pool\np = Pool(4)\n"), "V p: a process pool (`Pool(...)`)");
    assert_eq!(one("s = socket.socket()\n"), "V s: a socket (`socket.socket()`)");
    assert_eq!(one("con = sqlite3.connect('db.sqlite')\n"), "V con: a database connection (`sqlite3.connect(...)`)");
    assert_eq!(
        one("con = mysql.connector.connect(host=h)\n"),
        "V con: a database connection (`mysql.connector.connect(...)`)"
    );
    assert_eq!(one("e = create_engine(url)\n"), "V e: a database engine (`create_engine(...)`)");
    assert_eq!(one("r = urllib.request.urlopen(u)\n"), "V r: an open URL (`urllib.request.urlopen(...)`)");
    assert_eq!(
        one("with sqlite3.connect('x.db') as con:\n    pass\n"),
        "V con: a database connection (`sqlite3.connect(...)`)"
    );
    // `with Lock() as l` binds what `acquire()` returned, not the lock.
    assert!(res("with threading.Lock() as l:\n    pass\n").is_empty());
    // Picklable, or not known to be unpicklable.
    for src in [
        "from catboost import Pool\np = Pool(X, y)\n",
        "c = connect(url)\n",
        "s = requests.Session()\n",
        "it = iter(xs)\n",
        "df = pd.DataFrame(x)\n",
        "l = threading.Lock\n",
    ] {
        assert!(res(src).iter().all(|e| !e.starts_with("V ")), "{src}");
    }
}

#[test]
fn dynamic_namespaces() {
    assert_eq!(all_effects("g = globals()\n"), ["R globals", "C globals(;)", "DN globals", "B g"]);
    for call in ["locals()", "vars()", "exec(code)", "eval(s)", "__import__(m)"] {
        let name = call.split('(').next().unwrap_or("");
        assert_eq!(res(&format!("{call}\n")), [format!("DN {name}")], "{call}");
    }
    assert_eq!(res("m = importlib.import_module('x')\n"), ["DN importlib.import_module"]);
    assert!(res("vars(obj)\n").is_empty());
    assert!(res("evaluate(s)\n").is_empty());
    assert!(res("model.eval()\n").is_empty());
    // In a function: in its call effects, not the cell's.
    let src = "def f(s):\n    return eval(s)\n";
    assert!(res(src).is_empty());
    assert_eq!(call_res(src), ["DN eval"]);
    assert_eq!(call_res("class C:\n    def m(self):\n        exec(c)\n"), ["DN exec"]);
    // A local named like the builtin.
    assert!(call_res("def f(eval):\n    return eval(1)\n").is_empty());
}

#[test]
fn open_modes() {
    assert_eq!(res("open('a')\n"), ["FR a"]);
    assert_eq!(res("open('a', 'r')\n"), ["FR a"]);
    assert_eq!(res("open('a', 'rb')\n"), ["FR a"]);
    assert_eq!(res("open('a', 'w')\n"), ["FW a"]);
    assert_eq!(res("open('a', mode='wb')\n"), ["FW a"]);
    assert_eq!(res("open('a', 'x')\n"), ["FW a"]);
    assert_eq!(res("open('a', 'a')\n"), ["FR a", "FW a"]);
    assert_eq!(res("open('a', 'r+')\n"), ["FR a", "FW a"]);
    assert_eq!(res("open('a', m)\n"), ["FR a", "FW a"]);
    assert_eq!(res("open(file='a', mode='w')\n"), ["FW a"]);
    assert_eq!(res("open(p, 'w')\n"), ["FUw open"]);
    assert_eq!(res("open(p)\n"), ["FUr open"]);
    assert_eq!(res("open(p, 'a')\n"), ["FUr open", "FUw open"]);
    assert_eq!(res("open(f'{d}/a.csv')\n"), ["FUr open"]);
    assert_eq!(res("open(d + '/a.csv')\n"), ["FUr open"]);
    assert_eq!(res("open(os.path.join(d, 'a'))\n"), ["FUr open"]);
    assert_eq!(res("open(os.path.join('d', 'a'))\n"), ["FR d/a"]);
    assert_eq!(res("open(Path('d') / 'a')\n"), ["FUr open"]);
    assert_eq!(res("open(Path('d', 'a'))\n"), ["FR d/a"]);
    assert_eq!(res("open('a\\\\b\\x41.txt')\n"), ["FR a\\bA.txt"]);
    assert_eq!(res("open(r'a\\b')\n"), ["FR a\\b"]);
    assert_eq!(res("gzip.open('a.gz', 'wt')\n"), ["FW a.gz"]);
    assert_eq!(res("pickle.dump(m, open('m.pkl', 'wb'))\n"), ["FW m.pkl"]);
    assert_eq!(res("json.dump(d, open('d.json', 'w'))\n"), ["FW d.json"]);
    assert!(res("open(3)\n").is_empty());
    assert!(res("f.open()\n").is_empty());
    assert!(res("Image.open(p)\n").is_empty());
}

#[test]
fn pathlib_files() {
    assert_eq!(res("Path('a.txt').write_text(s)\n"), ["FW a.txt"]);
    assert_eq!(res("pathlib.Path('a.bin').write_bytes(b)\n"), ["FW a.bin"]);
    assert_eq!(res("s = Path('a.txt').read_text()\n"), ["FR a.txt"]);
    assert_eq!(res("Path('a').read_bytes()\n"), ["FR a"]);
    assert_eq!(res("Path('a').open('w')\n"), ["FW a"]);
    assert_eq!(res("p.write_text(s)\n"), ["FUw p.write_text"]);
    assert_eq!(res("Path(d).read_text()\n"), ["FUr Path(d).read_text"]);
}

#[test]
fn pandas_numpy_and_friends() {
    assert_eq!(res("df.to_csv('out.csv', index=False)\n"), ["FW out.csv"]);
    assert_eq!(res("df.to_parquet(path='o.parquet')\n"), ["FW o.parquet"]);
    assert_eq!(res("df.to_excel(excel_writer='o.xlsx')\n"), ["FW o.xlsx"]);
    assert_eq!(res("df.to_json(path_or_buf='o.json')\n"), ["FW o.json"]);
    assert_eq!(res("df.head().to_pickle('o.pkl')\n"), ["FW o.pkl"]);
    assert_eq!(res("df.to_csv(out)\n"), ["FUw df.to_csv"]);
    assert_eq!(res("df.to_csv(f'{d}/o.csv')\n"), ["FUw df.to_csv"]);
    assert!(res("s = df.to_csv()\n").is_empty());
    assert!(res("s = df.to_json(orient='records')\n").is_empty());
    assert!(res("df.to_csv(None)\n").is_empty());
    assert!(res("df.to_csv(sys.stdout)\n").is_empty());
    assert!(res("df.to_csv(buf := io.StringIO())\n").iter().all(|e| e.starts_with("FU")));
    assert!(res("df.to_sql('t', con)\n").is_empty());
    assert_eq!(res("df = pd.read_csv('in.csv')\n"), ["FR in.csv"]);
    assert_eq!(res("pd.read_parquet(path='in.parquet')\n"), ["FR in.parquet"]);
    assert_eq!(res("pd.read_excel(io='in.xlsx')\n"), ["FR in.xlsx"]);
    assert_eq!(res("pd.read_csv(filepath_or_buffer='in.csv')\n"), ["FR in.csv"]);
    assert_eq!(res("pandas.read_table('t.tsv')\n"), ["FR t.tsv"]);
    assert_eq!(res("pd.read_csv(path)\n"), ["FUr pd.read_csv"]);
    assert!(res("pd.read_csv('https://x.org/a.csv')\n").is_empty());
    assert!(res("df.to_parquet('s3://bucket/a.parquet')\n").is_empty());
    assert!(res("pd.read_csv(io.StringIO(text))\n").is_empty());
    assert!(res("read_csv('a.csv')\n").is_empty());
    assert_eq!(res("np.save('a.npy', a)\n"), ["FW a.npy"]);
    assert_eq!(res("np.savez('a.npz', a=a)\n"), ["FW a.npz"]);
    assert_eq!(res("numpy.savetxt('a.txt', a)\n"), ["FW a.txt"]);
    assert_eq!(res("a = np.load('a.npy')\n"), ["FR a.npy"]);
    assert_eq!(res("np.loadtxt(fname='a.txt')\n"), ["FR a.txt"]);
    assert_eq!(res("np.genfromtxt(p)\n"), ["FUr np.genfromtxt"]);
    assert!(res("np.sum('a.npy')\n").is_empty());
    assert_eq!(res("joblib.dump(model, 'm.joblib')\n"), ["FW m.joblib"]);
    assert_eq!(res("m = joblib.load('m.joblib')\n"), ["FR m.joblib"]);
    assert_eq!(res("joblib.dump(model, path)\n"), ["FUw joblib.dump"]);
    assert_eq!(res("torch.save(model.state_dict(), 'm.pt')\n"), ["FW m.pt"]);
    assert_eq!(res("plt.savefig('fig.png', dpi=100)\n"), ["FW fig.png"]);
    assert_eq!(res("fig.savefig(fname='fig.svg')\n"), ["FW fig.svg"]);
    assert_eq!(res("fig.savefig(out)\n"), ["FUw fig.savefig"]);
    assert_eq!(res("shutil.copy('a', 'b')\n"), ["FR a", "FW b"]);
    assert_eq!(res("shutil.copyfile(src, 'b')\n"), ["FUr shutil.copyfile", "FW b"]);
}

#[test]
fn file_effects_in_functions_go_to_call_effects() {
    let src = "def save(df):\n    df.to_csv('out.csv')\n    return pd.read_csv(p)\n";
    assert!(res(src).is_empty());
    assert_eq!(call_res(src), ["FW out.csv", "FUr pd.read_csv"]);
    let src = "class C:\n    def load(self):\n        return np.load('a.npy')\n";
    assert_eq!(call_res(src), ["FR a.npy"]);
    // Comprehensions and class bodies run now.
    assert_eq!(res("xs = [np.load(f) for f in fs]\n"), ["FUr np.load"]);
    assert_eq!(res("class C:\n    data = open('a').read()\n"), ["FR a"]);
}

#[test]
fn writefile_cell_magic() {
    let f = cell("%%writefile script.py\nprint(1)\n");
    assert_eq!(fx(&f.effects), ["FW script.py"]);
    match &f.effects[0] {
        Effect::FileWrite { span, .. } => assert_eq!(span.line, 1),
        e => panic!("{e:?}"),
    }
    assert_eq!(fx(&cell("%%writefile -a 'my file.txt'\nx\n").effects), ["FR my file.txt", "FW my file.txt"]);
    assert_eq!(fx(&cell("%%writefile $name\nx\n").effects), ["FUw %%writefile"]);
    assert!(cell("%%writefile\nx\n").effects.is_empty());
    assert!(cell("%%bash\necho hi > a.txt\n").effects.is_empty());
}

/// Random cells from a tricky alphabet (magics, quotes, brackets, CRLF, non-ASCII)
/// must never panic, and the program must keep the cell's line count.
#[test]
fn random_cells_never_panic() {
    const PIECES: &[&str] = &[
        "%",
        "%%",
        "!",
        "!!",
        "?",
        "x",
        "= ",
        "\\",
        "\n",
        "\r\n",
        "'",
        "\"",
        "\"\"\"",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "#",
        " ",
        "    ",
        "\t",
        "def f(a):",
        "class C:",
        "lambda y:",
        "é",
        "$",
        "time ",
        "pip install ",
        "for i in z:",
        ":",
        ".",
        "*",
        "del ",
        "global g",
        "try:",
        "except E as e:",
        "match m:",
        "case [a]:",
        "import a.b",
        "from . import *",
        "f'{",
        "}'",
        "ls",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..3000 {
        let mut src = String::new();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = (seed % 40) as usize;
        for _ in 0..len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            src.push_str(PIECES[(seed % PIECES.len() as u64) as usize]);
        }
        let f = analyze_cell(&src);
        assert_eq!(f.program.matches('\n').count(), src.matches('\n').count(), "{src:?}");
        let _ = crate::python::parse_parameters_cell(&src);
        let _ = crate::python::parse_metrics_cell(&src);
    }
}

#[test]
fn classes_made_by_calls_are_definitions() {
    for src in [
        "Point = namedtuple('Point', 'x y')\n",
        "Point = collections.namedtuple('Point', ['x', 'y'])\n",
        "Point = typing.NamedTuple('Point', [('x', int)])\n",
        "Point = make_dataclass('Point', ['x'])\n",
        "Point = enum.Enum('Point', 'A B')\n",
        "Point = type('Point', (object,), {'x': 1})\n",
    ] {
        let f = cell(src);
        assert_eq!(f.definitions.len(), 1, "{src}");
        assert_eq!(f.definitions[0].kind, DefinitionKind::Class, "{src}");
        assert_eq!(f.definitions[0].source, src.trim_end(), "{src}");
        assert!(f.effects.iter().any(|e| matches!(e, Effect::Bind { kind: BindKind::Definition(0), .. })), "{src}");
    }
    // Not class factories: a one-argument `type`, a call assigned to two names.
    assert!(cell("t = type(x)\n").definitions.is_empty());
    assert!(cell("a, b = namedtuple('P', 'x'), 1\n").definitions.is_empty());
}
