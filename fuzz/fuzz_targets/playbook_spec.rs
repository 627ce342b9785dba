//! Playbook YAML: any input either parses into a valid playbook or yields located errors;
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        match playbook::parse(text, "fuzz.yaml") {
            Ok(book) => assert!(!book.steps.is_empty()),
            Err(problems) => assert!(!problems.is_empty()),
        }
    }
});
