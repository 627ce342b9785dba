//! The sample incident bundled into the binary, so the quick start needs no files.

use ingest::Input;
use std::sync::Arc;

macro_rules! sample {
    ($path:literal) => {
        (
            concat!("examples/sample-logs/", $path),
            include_bytes!(concat!("../../../examples/sample-logs/", $path)).as_slice(),
        )
    };
}

/// `(display path, bytes)` of each bundled sample file.
pub const SAMPLE_FILES: [(&str, &[u8]); 8] = [
    sample!("cloudtrail/111122223333_CloudTrail_us-east-1_20261121T0915Z_sample.json.gz"),
    sample!("cloudtrail/later-events.jsonl"),
    sample!("cloudtrail/111122223333_CloudTrail-Digest_us-east-1_20261121T1000Z.json"),
    sample!("vpcflow/111122223333_vpcflowlogs_us-west-2_fl-0a1b2c3d_20261121T0920Z_sample.log.gz"),
    sample!("cwlogs/kinesis-records.b64"),
    sample!("findings/guardduty-eventbridge.json"),
    sample!("findings/guardduty-getfindings.json"),
    sample!("findings/securityhub-imported.json"),
];

/// The bundled samples as ingest inputs.
pub fn inputs() -> Vec<Input> {
    SAMPLE_FILES
        .iter()
        .map(|(name, data)| Input::Memory {
            name: (*name).to_string(),
            data: Arc::from(*data),
        })
        .collect()
}
