//! The whole pipeline: notebook JSON (or one cell's Python source) → plan → KFP IR YAML.
//! `convert` must return Ok or Err, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nbkf::notebook::Notebook;

fn convert(bytes: &[u8]) {
    if let Ok((notebook, diagnostics)) = Notebook::from_slice(bytes, "fuzz.ipynb") {
        let _ = nbkf::convert(notebook, diagnostics, "fuzz.ipynb", None, &Default::default());
    }
}

fuzz_target!(|data: &[u8]| {
    // 1. The input as a notebook.
    convert(data);
    // 2. The input as the source of a code cell in a two-step notebook, so Python-level
    //    inputs reach the planner and the emitter.
    let source = serde_json::Value::String(String::from_utf8_lossy(data).into_owned());
    let notebook = format!(
        r#"{{"nbformat":4,"nbformat_minor":5,"metadata":{{}},"cells":[{{"cell_type":"code","metadata":{{"tags":["step:a"]}},"source":{source}}},{{"cell_type":"code","metadata":{{"tags":["step:b"]}},"source":"print(x)"}}]}}"#
    );
    convert(notebook.as_bytes());
});
