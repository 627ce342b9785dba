#![no_main]

// Any text: parsing and compiling never panic, and every error is located in the file.
libfuzzer_sys::fuzz_target!(|text: &str| {
    let (items, errors) = sigma::parse_file("fuzz.yml", text);
    assert!(errors.iter().all(|e| e.file == "fuzz.yml"));
    let (set, _) = sigma::compile(&items, &sigma::Placeholders::default());
    assert!(set.rules.len() <= items.len());
});
