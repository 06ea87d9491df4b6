//! Cell tags: the input split on `\n` is one code cell's tag list.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nbkf::notebook::{Cell, CellKind};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let tags: Vec<String> = text.split('\n').map(str::to_string).collect();
    for tag in &tags {
        let _ = nbkf::tags::parse_setting(tag);
    }
    let cell = Cell {
        index: 0,
        id: None,
        kind: CellKind::Code,
        source: String::new(),
        tags,
        metadata: Default::default(),
    };
    let _ = nbkf::tags::parse_cell_tags(&cell);
});
