//! JSON-lines files (`log.jsonl`, `evals.jsonl`, `samples/index.jsonl`): appended a line at a
//! time, rewritten atomically on resume, and read tolerantly (a half-written last line is left
//! for the next read, a line that is not a JSON object is skipped).

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Rewrites the JSON-lines file at `path` keeping only the lines whose step (`step_of`) is at most
/// `step`, in one atomic replacement: a resumed run continues its logs without gaps or repeats,
/// and a crash meanwhile cannot lose them. Lines without a step are dropped; a file that cannot be
/// read (other than a missing one) is an error, never taken for an empty one.
pub fn keep_lines_up_to(path: &Path, step: u64, step_of: impl Fn(&str) -> Option<u64>) -> Result<()> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
        Err(e) => return Err(Error::io(path, e)),
    };
    let mut kept = Vec::with_capacity(bytes.len());
    for line in bytes.split(|&b| b == b'\n') {
        if std::str::from_utf8(line).ok().and_then(&step_of).is_some_and(|s| s <= step) {
            kept.extend_from_slice(line);
            kept.push(b'\n');
        }
    }
    crate::tensor_file::write_atomic(path, &kept)
}

/// The complete lines of JSON-lines text (a last line without its newline is still being
/// written): each a JSON object, or None for a line that is not one.
pub fn complete_json_lines(bytes: &[u8]) -> impl Iterator<Item = Option<Map<String, Value>>> {
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(&[][..], |end| &bytes[..end]);
    complete.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(|l| match serde_json::from_slice(l) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    })
}

/// Appends `value` as one line to the JSON-lines file at `path` (created if missing).
pub fn append_json_line(path: &Path, value: &Value) -> Result<()> {
    use std::io::Write;
    let mut file = io(std::fs::OpenOptions::new().create(true).append(true).open(path), path)?;
    io(writeln!(file, "{value}"), path)
}

/// The `step` field of a JSON line.
pub fn json_step(line: &str) -> Option<u64> {
    serde_json::from_str::<Value>(line).ok()?.get("step")?.as_u64()
}

/// An I/O result with the path it concerns in its error.
pub fn io<T>(r: std::io::Result<T>, p: &Path) -> Result<T> {
    r.map_err(|e| Error::io(p, e))
}
