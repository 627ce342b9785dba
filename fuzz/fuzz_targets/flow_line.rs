#![no_main]

use ingest::flow::{FlowLayout, parse_line};
use model::Origin;

libfuzzer_sys::fuzz_target!(|data: &str| {
    let (fields, line) = data.split_once('\n').unwrap_or(("", data));
    let layout = FlowLayout::from_names(fields).unwrap_or_else(|_| FlowLayout::default_v2());
    let _ = FlowLayout::from_header(line);
    if let Ok(ev) = parse_line(line, &layout, Origin { file: "f".into(), line: 1 }, None) {
        for name in layout.fields() {
            let _ = ev.field(name);
        }
    }
});
