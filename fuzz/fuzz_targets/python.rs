//! One cell's Python source through the analyser and the special-cell parsers.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = String::from_utf8_lossy(data);
    let _ = nbkf::python::analyze_cell(&source);
    let _ = nbkf::python::parse_parameters_cell(&source);
    let _ = nbkf::python::parse_metrics_cell(&source);
});
