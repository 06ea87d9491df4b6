use super::*;

/// The plan summary of a notebook made of `(tags, source)` code cells.
fn summary_of(cells: &[(&[&str], &str)]) -> PlanSummary {
    let cells: Vec<serde_json::Value> = cells
        .iter()
        .map(|(tags, source)| {
            serde_json::json!({"cell_type": "code", "metadata": {"tags": tags}, "source": source, "outputs": [], "execution_count": null})
        })
        .collect();
    let nb = serde_json::json!({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells});
    let (notebook, diagnostics) = crate::notebook::Notebook::from_slice(nb.to_string().as_bytes(), "t.ipynb").unwrap();
    let conversion = crate::convert(notebook, diagnostics, "t.ipynb", None, &Default::default()).unwrap();
    assert!(!conversion.has_errors(), "{:#?}", conversion.diagnostics);
    crate::plan::summary(&conversion.plan)
}

fn edge_between<'g>(graph: &'g Graph, from: &str, to: &str) -> &'g Edge {
    let id = |name: &str| graph.nodes.iter().position(|n| n.title() == name).unwrap();
    let (from, to) = (id(from), id(to));
    graph.edges.iter().find(|e| e.from == from && e.to == to).unwrap()
}

#[test]
fn variables_of_one_producer_make_one_labelled_edge() {
    let summary = summary_of(&[
        (&["step:make"], "x = 1\ny = 2\nz = 3"),
        (&["step:pair"], "p = x + y"),
        (&["step:last", "prev:make"], "print(z, p)"),
        (&["step:after_only", "prev:make"], "print('done')"),
    ]);
    let graph = Graph::from_summary(&summary);
    assert_eq!(graph.nodes.len(), 4, "no parameters node without parameters");
    let pair = edge_between(&graph, "make", "pair");
    assert_eq!((pair.kind, pair.variables.clone()), (EdgeKind::Data, vec!["x".to_string(), "y".to_string()]));
    assert_eq!(pair.label(), "x, y");
    assert_eq!(edge_between(&graph, "make", "last").variables, ["z"]);
    assert_eq!(edge_between(&graph, "pair", "last").variables, ["p"]);
    let order = edge_between(&graph, "make", "after_only");
    assert_eq!((order.kind, order.variables.len()), (EdgeKind::Order, 0));
    assert_eq!(graph.edges.len(), 4);
}

#[test]
fn parameters_are_one_node_feeding_the_steps_that_read_them() {
    let summary = summary_of(&[
        (&["pipeline-parameters"], "RATE = 0.5\nNAME = 'a<b'\nUNUSED = 3"),
        (&["step:one"], "r = RATE * 2"),
        (&["step:two"], "s = r + len(NAME) + RATE"),
        (&["step:three"], "print(s)"),
    ]);
    let graph = Graph::from_summary(&summary);
    let Node::Parameters(lines) = &graph.nodes[0] else { panic!("{:?}", graph.nodes[0]) };
    assert_eq!(
        lines.iter().map(ParameterLine::short).collect::<Vec<_>>(),
        ["RATE: float = 0.5", "NAME: str = \"a<b\"", "UNUSED: int = 3"]
    );
    let feeds: Vec<(usize, Vec<String>)> =
        graph.edges.iter().filter(|e| e.kind == EdgeKind::Parameters).map(|e| (e.to, e.variables.clone())).collect();
    assert_eq!(feeds, [(1, vec!["RATE".to_string()]), (2, vec!["NAME".to_string(), "RATE".to_string()])]);
    assert!(graph.edges.iter().all(|e| e.kind != EdgeKind::Parameters || e.from == 0));
    assert_eq!(graph.nodes[0].id(), PARAMETERS_ID);
}

#[test]
fn a_step_box_shows_cells_packages_and_metrics() {
    let step = StepNode {
        name: "train".into(),
        task: "train".into(),
        cells: vec![3, 4, 5, 8],
        reads: vec![],
        passes_on: vec!["model".into()],
        parameters: vec![],
        packages: vec!["numpy".into(), "pandas".into()],
        metrics: vec!["accuracy".into()],
        finally: false,
        for_each: None,
        notebook: None,
        sub_pipeline: None,
    };
    let node = Node::Step(step);
    assert_eq!(node.details(), ["cells 3-5, 8 · 2 packages", "metrics: accuracy"]);
    assert_eq!(node.id(), "step-train");
    assert!(node.tooltip().contains("passes on: model") && node.tooltip().contains("packages: numpy, pandas"));
}

#[test]
fn many_parameters_are_counted_and_long_defaults_cut() {
    let lines: Vec<ParameterLine> = (0..15)
        .map(|i| ParameterLine {
            name: format!("P{i}"),
            kind: "str".into(),
            default: format!("\"{}\"", "x".repeat(60)),
        })
        .collect();
    let details = Node::Parameters(lines).details();
    assert_eq!(details.len(), 13);
    assert_eq!(details[12], "… and 3 more");
    assert!(details[0].ends_with('…') && details[0].chars().count() < 60, "{}", details[0]);
}

/// A graph whose names hold every character the formats treat specially.
fn hostile() -> Graph {
    let name = "a<b>&\"c'd\\n|#`é 数据 🚀";
    let step = |name: &str, task: &str| {
        Node::Step(StepNode {
            name: name.into(),
            task: task.into(),
            cells: vec![2],
            reads: vec![],
            passes_on: vec![],
            parameters: vec![],
            packages: vec![],
            metrics: vec!["m<1>&\u{7}".into()],
            finally: false,
            for_each: None,
            notebook: None,
            sub_pipeline: None,
        })
    };
    Graph {
        pipeline: "hostile".into(),
        notebook: "x<y>&\".ipynb".into(),
        nodes: vec![
            Node::Parameters(vec![ParameterLine {
                name: "P".into(),
                kind: "str".into(),
                default: "\"</text>\\n\"".into(),
            }]),
            step(name, "a-b"),
            step("end", "end"),
        ],
        edges: vec![
            Edge { from: 0, to: 1, kind: EdgeKind::Parameters, variables: vec!["P".into()] },
            Edge { from: 1, to: 2, kind: EdgeKind::Data, variables: vec!["<x>".into(), "y&z".into(), "\"q\"".into()] },
            Edge { from: 1, to: 2, kind: EdgeKind::Order, variables: vec![] },
        ],
        groups: vec![Group {
            name: "sub".into(),
            notebook: "d<i>r/&\"x |#`.ipynb".into(),
            parent: None,
            nodes: vec![2],
        }],
    }
}

#[test]
fn svg_escapes_names_and_keeps_them_readable() {
    let graph = hostile();
    let svg = svg(&graph);
    let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
    let step = doc.descendants().find(|n| n.attribute("data-task") == Some("a-b")).unwrap();
    assert_eq!(step.attribute("data-step"), Some(graph.nodes[1].title()));
    assert_eq!(step.attribute("id"), Some("step-a-b"));
    assert!(step.attribute("class").unwrap().split(' ').any(|c| c == "step"));
    let title = step.children().find(|n| n.has_tag_name("title")).unwrap().text().unwrap();
    assert!(title.starts_with("step a<b>&\"c'd\\n|#`é 数据 🚀 (task a-b)"), "{title}");
    assert!(title.contains("metrics: m<1>&\u{FFFD}"), "{title}");
    let labels: Vec<&str> = doc.descendants().filter(|n| n.has_tag_name("text")).filter_map(|n| n.text()).collect();
    assert!(labels.contains(&"<x>, y&z, \"q\""), "{labels:?}");
    assert!(labels.iter().any(|l| l.starts_with("P: str = \"</text>")), "{labels:?}");
    assert!(!svg.contains('\u{7}'));
    let order = doc.descendants().find(|n| n.attribute("class") == Some("edge order")).unwrap();
    assert_eq!((order.attribute("data-source"), order.attribute("data-target")), (Some("step-a-b"), Some("step-end")));
}

#[test]
fn svg_shortens_long_labels_and_keeps_the_whole_list_in_the_tooltip() {
    let mut graph = hostile();
    let variables: Vec<String> = (0..30).map(|i| format!("variable_number_{i}")).collect();
    graph.edges[1].variables = variables.clone();
    let svg = svg(&graph);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let edge = doc.descendants().find(|n| n.attribute("class") == Some("edge data")).unwrap();
    let text = edge.children().find(|n| n.has_tag_name("text")).unwrap().text().unwrap();
    assert!(text.ends_with('…') && text.len() < 60, "{text}");
    let title = edge.children().find(|n| n.has_tag_name("title")).unwrap().text().unwrap();
    assert!(title.ends_with(&variables.join(", ")), "{title}");
}

#[test]
fn dot_quotes_and_escapes() {
    let dot = dot(&hostile());
    assert!(dot.contains(r#"label="a<b>&\"c'd\\n|#`é 数据 🚀\ncell 2\nmetrics: m<1>&�""#), "{dot}");
    assert!(dot.contains(r#""step-a-b" -> "step-end" [label="<x>, y&z, \"q\"""#), "{dot}");
    assert!(dot.contains(r#""step-a-b" -> "step-end" [style=dashed];"#), "{dot}");
    // Every quote that is not escaped opens or closes a string: an even number per line.
    for line in dot.lines() {
        let unescaped = line.replace("\\\\", "").replace("\\\"", "");
        assert_eq!(unescaped.matches('"').count() % 2, 0, "{line}");
    }
}

#[test]
fn mermaid_uses_safe_ids_and_entity_codes() {
    let mermaid = mermaid(&hostile());
    assert!(mermaid.starts_with("%% pipeline hostile, drawn by nbkf\nflowchart TD\n"), "{mermaid}");
    assert!(
        mermaid.contains(
            r#"  step_a_b["a#lt;b#gt;#amp;#quot;c'd\n#124;#35;#96;é 数据 🚀<br/>cell 2<br/>metrics: m#lt;1#gt;#amp;�"]"#
        ),
        "{mermaid}"
    );
    assert!(mermaid.contains(r##"  step_a_b -->|"#lt;x#gt;, y#amp;z, #quot;q#quot;"| step_end"##), "{mermaid}");
    assert!(mermaid.contains("  step_a_b -.-> step_end\n"), "{mermaid}");
    assert!(mermaid.contains("  pipeline_parameters -->|\"P\"| step_a_b\n"));
    assert!(mermaid.contains("linkStyle 0 stroke:"));
}

#[test]
fn formats_by_extension() {
    let f = |p: &str| Format::from_path(Path::new(p));
    assert_eq!(f("dag.svg"), Some(Format::Svg));
    assert_eq!(f("dag.GV"), Some(Format::Dot));
    assert_eq!(f("a/dag.dot"), Some(Format::Dot));
    assert_eq!(f("dag.mermaid"), Some(Format::Mermaid));
    assert_eq!(f("dag.mmd"), Some(Format::Mermaid));
    assert_eq!(f("dag.png"), None);
    assert_eq!(f("dag"), None);
}

#[test]
fn the_exit_step_is_reached_from_every_last_step() {
    let summary = summary_of(&[
        (&["step:load"], "x = 1"),
        (&["step:train"], "m = x + 1"),
        (&["step:side"], "s = 2"),
        (&["step:notify", "finally"], "print('done')"),
    ]);
    let graph = Graph::from_summary(&summary);
    let finally: Vec<(&str, &str)> = graph
        .edges
        .iter()
        .filter(|e| e.kind == EdgeKind::Finally)
        .map(|e| (graph.nodes[e.from].title(), graph.nodes[e.to].title()))
        .collect();
    assert_eq!(finally, [("train", "notify"), ("side", "notify")], "from the steps nothing runs after");
    let (_, notify) = graph.step("notify").unwrap();
    assert!(notify.finally);
    let node = &graph.nodes[graph.step("notify").unwrap().0];
    assert!(node.details().contains(&"exit step: runs last, always".to_string()));
    let svg = Format::Svg.draw(&graph);
    assert!(svg.contains("class=\"node step exit\"") && svg.contains("class=\"edge finally\""), "{svg}");
    assert!(svg.contains("notify runs after train, also when it fails"));
    assert!(Format::Mermaid.draw(&graph).contains("-.->|\"finally\"|"));
}

#[test]
fn a_for_step_says_what_it_runs_once_per_item_of() {
    let summary = summary_of(&[
        (&["pipeline-parameters"], "XS = [1, 2]"),
        (&["step:square", "for:XS", "parallelism:3"], "sq = []\nfor x in XS:\n    sq.append(x * x)"),
        (&["step:total"], "t = sum(sq)"),
    ]);
    let graph = Graph::from_summary(&summary);
    let (i, square) = graph.step("square").unwrap();
    assert_eq!(square.for_each, Some(("XS".to_string(), Some(3))));
    assert!(graph.nodes[i].details().contains(&"for each item of XS, ≤ 3 at once".to_string()));
    assert!(graph.nodes[i].tooltip().contains("runs once per item of XS"));
    assert_eq!(edge_between(&graph, "square", "total").variables, ["sq"]);
}

/// The graph of a fixture notebook file.
fn graph_of_fixture(name: &str) -> Graph {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name);
    let conversion = crate::convert_file(&path, &Default::default()).unwrap();
    assert!(!conversion.has_errors(), "{:#?}", conversion.diagnostics);
    Graph::from_summary(&crate::plan::summary(&conversion.plan))
}

#[test]
fn sub_pipelines_are_frames_around_their_steps() {
    let graph = graph_of_fixture("composed_three_levels.ipynb");
    let names: Vec<(&str, Option<usize>)> = graph.groups.iter().map(|g| (g.name.as_str(), g.parent)).collect();
    assert_eq!(names, [("outer", None), ("outer/square", Some(0))]);
    let (shift, step) = graph.step("outer_shift").unwrap();
    assert_eq!(graph.groups[0].nodes, [shift]);
    assert_eq!(graph.nodes[shift].details()[0], "cell 3 of outer.ipynb");
    assert!(graph.nodes[shift].tooltip().contains("cells: 3 of composed/outer.ipynb\nin sub-pipeline outer"));
    assert_eq!(step.sub_pipeline.as_deref(), Some("outer"));
    assert_eq!(graph.group_nodes(0).len(), 2, "outer holds square's step too");

    // SVG: a frame per sub-pipeline, the inner one inside the outer one, each around its steps.
    let svg = svg(&graph);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let rect = |id: &str| {
        let g = doc.descendants().find(|n| n.attribute("id") == Some(id)).unwrap_or_else(|| panic!("no {id}:\n{svg}"));
        let r = g.children().find(|n| n.has_tag_name("rect")).unwrap();
        let v = |a: &str| r.attribute(a).unwrap().parse::<f64>().unwrap();
        (v("x"), v("y"), v("x") + v("width"), v("y") + v("height"))
    };
    let (outer, inner) = (rect("sub-pipeline-outer"), rect("sub-pipeline-outer--square"));
    let (main, start) = (rect("step-outer-square-main"), rect("step-start"));
    let inside = |a: (f64, f64, f64, f64), b: (f64, f64, f64, f64)| a.0 > b.0 && a.1 > b.1 && a.2 < b.2 && a.3 < b.3;
    assert!(inside(main, inner) && inside(inner, outer), "{svg}");
    assert!(!inside(start, outer) && start.3 < outer.1, "`start` is above the frame");
    let labels: Vec<&str> = doc.descendants().filter(|n| n.has_tag_name("text")).filter_map(|n| n.text()).collect();
    assert!(labels.contains(&"outer (outer.ipynb)") && labels.contains(&"square (square.ipynb)"), "{labels:?}");

    // DOT: nested clusters holding the steps; Mermaid: nested subgraphs.
    let dot = dot(&graph);
    let outer_at = dot.find("subgraph \"cluster_sub-pipeline-outer\" {").unwrap();
    let inner_at = dot.find("subgraph \"cluster_sub-pipeline-outer--square\" {").unwrap();
    let step_at = dot.find("\"step-outer-square-main\" [label").unwrap();
    assert!(outer_at < inner_at && inner_at < step_at, "{dot}");
    let mermaid = mermaid(&graph);
    assert!(
        mermaid.contains("  subgraph sub_pipeline_outer[\"outer (outer.ipynb)\"]\n    step_outer_shift["),
        "{mermaid}"
    );
    assert!(mermaid
        .contains("    subgraph sub_pipeline_outer__square[\"square (square.ipynb)\"]\n      step_outer_square_main["));
    assert!(mermaid.contains("    end\n  end\n"), "{mermaid}");
}

#[test]
fn a_frame_that_would_cover_another_step_is_not_drawn() {
    // `a` and `c` are in the sub-pipeline, `b` between them is not.
    let mut graph = hostile();
    graph.nodes.push(graph.nodes[2].clone());
    if let Node::Step(s) = &mut graph.nodes[3] {
        s.task = "c".into();
    }
    graph.edges.push(Edge { from: 2, to: 3, kind: EdgeKind::Order, variables: vec![] });
    graph.groups[0].nodes = vec![1, 3];
    let drawn = svg(&graph);
    assert!(!drawn.contains("class=\"sub-pipeline\""), "{drawn}");
    // With `b` in it too, it is drawn, and its label is escaped.
    graph.groups[0].nodes = vec![1, 2, 3];
    let svg = svg(&graph);
    let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
    let frame = doc.descendants().find(|n| n.attribute("class") == Some("sub-pipeline")).unwrap();
    let title = frame.children().find(|n| n.has_tag_name("title")).unwrap().text().unwrap();
    assert_eq!(title, "sub-pipeline sub: the steps of d<i>r/&\"x |#`.ipynb");
    assert!(dot(&graph).contains(r#"label="sub (&\"x |#`.ipynb)""#));
    assert!(mermaid(&graph).contains(r#"subgraph sub_pipeline_sub["sub (#amp;#quot;x #124;#35;#96;.ipynb)"]"#));
}
