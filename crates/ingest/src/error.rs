use std::path::PathBuf;

/// Errors that stop an ingest run (bad arguments, unreadable inputs). Problems inside
/// records never stop a run: they become [`crate::Rejection`]s.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{path}: {source}")]
    Input {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid VPC flow log field list: {0}")]
    FlowFields(String),
    #[error("a worker thread panicked while parsing")]
    WorkerPanicked,
}
