//! External data: tensors whose bytes sit in a file beside the model (ONNX's
//! `external_data` entries `location`, `offset`, `length`), read into the tensor
//! before import. The location must name a file inside the model's directory.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path};
use tract_onnx::pb::{ModelProto, TensorProto};

/// Reads every initializer's external data into its `raw_data`.
pub(crate) fn load(model: &mut ModelProto, directory: &Path) -> Result<(), String> {
    let Some(graph) = model.graph.as_mut() else {
        return Ok(());
    };
    for tensor in &mut graph.initializer {
        if !tensor.external_data.is_empty() {
            read(tensor, directory)?;
        }
    }
    Ok(())
}

fn read(tensor: &mut TensorProto, directory: &Path) -> Result<(), String> {
    let entries: HashMap<&str, &str> = tensor
        .external_data
        .iter()
        .map(|e| (e.key.as_str(), e.value.as_str()))
        .collect();
    let what = format!("tensor '{}'", tensor.name);
    let location = entries
        .get("location")
        .ok_or_else(|| format!("{what} has external data without a location"))?;
    let relative = Path::new(location);
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!(
            "{what}'s external data location '{location}' leaves the model's directory: keep the data file beside the model"
        ));
    }
    let number = |key: &str| -> Result<Option<u64>, String> {
        entries
            .get(key)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| format!("{what}'s external data {key} '{v}' is not a number"))
            })
            .transpose()
    };
    let offset = number("offset")?.unwrap_or(0);
    let path = directory.join(relative);
    let mut file = std::fs::File::open(&path).map_err(|e| {
        format!(
            "{what}'s external data file '{}' cannot be read ({e}): keep it beside the model",
            path.display()
        )
    })?;
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    let length = match number("length")? {
        Some(length) => length,
        None => size.saturating_sub(offset),
    };
    if offset.checked_add(length).is_none_or(|end| end > size) {
        return Err(format!(
            "{what}'s external data ({length} bytes from offset {offset}) runs past the end of '{}' ({size} bytes)",
            path.display()
        ));
    }
    let mut bytes = vec![0; length as usize];
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_exact(&mut bytes))
        .map_err(|e| format!("{what}'s external data cannot be read: {e}"))?;
    tensor.raw_data = bytes;
    tensor.external_data.clear();
    // DEFAULT: the data is now inside the tensor.
    tensor.data_location = Some(0);
    Ok(())
}
