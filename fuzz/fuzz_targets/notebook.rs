//! Notebook JSON → `Notebook`: any bytes must give Ok or Err, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = nbkf::notebook::Notebook::from_slice(data, "fuzz.ipynb");
});
