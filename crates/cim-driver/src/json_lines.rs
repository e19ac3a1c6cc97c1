//! Machine-readable output: the schema version every `--json` output carries, and
//! `--json-out FILE`, a long run's results as JSON Lines written as they come.
//!
//! Each line is `{"schema": 1, "kind": KIND, "data": {...}}` and is flushed as it
//! is written, so another program can follow the file while the run goes on (a
//! line is whole or absent).

use crate::DriverError;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The version of the shape of every `--json` output and `--json-out` line.
pub const JSON_SCHEMA: u32 = 1;

/// A JSON Lines file being written.
pub struct JsonLines {
    path: PathBuf,
    file: std::fs::File,
}

#[derive(Serialize)]
struct Line<'a, T: Serialize> {
    schema: u32,
    kind: &'a str,
    data: &'a T,
}

impl JsonLines {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path) -> Result<Self, DriverError> {
        let file = std::fs::File::create(path).map_err(|error| DriverError::File {
            path: path.display().to_string(),
            message: error.to_string(),
        })?;
        Ok(Self {
            path: path.to_owned(),
            file,
        })
    }

    /// Writes one line of kind `kind` holding `data`, and flushes it.
    pub fn write(&mut self, kind: &str, data: &impl Serialize) -> Result<(), DriverError> {
        let line = Line {
            schema: JSON_SCHEMA,
            kind,
            data,
        };
        let mut text = serde_json::to_string(&line).map_err(|error| self.error(error))?;
        text.push('\n');
        self.file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|error| self.error(error))
    }

    fn error(&self, error: impl std::fmt::Display) -> DriverError {
        DriverError::File {
            path: self.path.display().to_string(),
            message: error.to_string(),
        }
    }
}
