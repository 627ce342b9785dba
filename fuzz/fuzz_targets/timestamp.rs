#![no_main]

libfuzzer_sys::fuzz_target!(|data: &str| {
    if let Some(ms) = model::time::parse_timestamp(data)
        && (-62_135_596_800_000..253_402_300_800_000).contains(&ms)
    {
        assert_eq!(model::time::parse_timestamp(&model::time::format_iso(ms)), Some(ms));
    }
});
