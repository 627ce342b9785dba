//! A progress bar on a terminal for long reads; nothing otherwise.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;

/// The use cases' progress port, drawn on stderr when it is a terminal and `enabled`.
pub struct Progress {
    enabled: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Progress {
    pub fn new(enabled: bool) -> Self {
        Progress {
            enabled: enabled && std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
        }
    }

    fn bar(&self) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
        self.bar
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl app::ports::Progress for Progress {
    fn begin(&self, total: Option<u64>) {
        if !self.enabled {
            return;
        }
        let bar = match total {
            Some(t) => ProgressBar::new(t).with_style(
                ProgressStyle::with_template(
                    "{spinner} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {wide_bar}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
            None => ProgressBar::new_spinner(),
        };
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        *self.bar() = Some(bar);
    }

    fn advance(&self, read: u64) {
        if let Some(bar) = &*self.bar() {
            bar.set_position(read);
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar().take() {
            bar.finish_and_clear();
        }
    }
}
