#![warn(missing_docs)]
//! NumPy `.npy` files: read any numeric dtype into `f64`, write `float32`.
//!
//! Format version 1.0 to 3.0, little-endian or single-byte dtypes, C order.

use ndarray::{ArrayD, IxDyn};
use std::path::Path;
use thiserror::Error;

/// A file that is not a `.npy` cim can read, or cannot be written.
#[derive(Debug, Error)]
pub enum NpyError {
    /// I/O.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Not a valid or supported `.npy`.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong and what to do.
        message: String,
    },
}

fn header_value<'h>(header: &'h str, key: &str) -> Option<&'h str> {
    let start = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[start..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else {
        rest.find([',', '}']).unwrap_or(rest.len())
    };
    Some(rest[..end].trim())
}

/// Reads a `.npy` file as `f64` (integers and booleans convert exactly).
pub fn read(path: &Path) -> Result<ArrayD<f64>, NpyError> {
    let name = path.display().to_string();
    let format = |message: String| NpyError::Format {
        path: name.clone(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|source| NpyError::Io {
        path: name.clone(),
        source,
    })?;
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(format(
            "not a .npy file (no \\x93NUMPY magic): save arrays with numpy.save".into(),
        ));
    }
    let (header_length, header_start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        version => return Err(format(format!("unsupported .npy format version {version}"))),
    };
    let header = bytes
        .get(header_start..header_start + header_length)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| format("truncated or non-UTF-8 header".into()))?;
    let descr =
        header_value(header, "descr").ok_or_else(|| format("header without 'descr'".into()))?;
    let descr = descr.trim_matches(['\'', '"']);
    let fortran_order = match header_value(header, "fortran_order") {
        Some("False") => false,
        Some("True") => true,
        other => {
            return Err(format(format!(
                "'fortran_order' is {}: a .npy header says True or False",
                other.unwrap_or("missing")
            )));
        }
    };
    let shape_text =
        header_value(header, "shape").ok_or_else(|| format("header without 'shape'".into()))?;
    let shape = shape_text
        .trim_matches(['(', ')'])
        .split(',')
        .filter(|d| !d.trim().is_empty())
        .map(|d| d.trim().parse::<usize>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| format(format!("bad shape {shape_text}")))?;
    let data = &bytes[header_start + header_length..];
    let count = shape
        .iter()
        .try_fold(1usize, |count, &d| count.checked_mul(d))
        .ok_or_else(|| format(format!("shape {shape_text} holds too many elements")))?;
    macro_rules! decode {
        ($ty:ty) => {{
            let size = std::mem::size_of::<$ty>();
            let needed = count.checked_mul(size).unwrap_or(usize::MAX);
            if data.len() < needed {
                return Err(format(format!(
                    "holds {} bytes of data, the shape {shape_text} needs {needed}",
                    data.len(),
                )));
            }
            data.chunks_exact(size)
                .take(count)
                .map(|chunk| <$ty>::from_le_bytes(chunk.try_into().expect("chunk size")) as f64)
                .collect::<Vec<f64>>()
        }};
    }
    let values = match descr {
        "<f4" => decode!(f32),
        "<f8" => decode!(f64),
        "<i8" => decode!(i64),
        "<i4" => decode!(i32),
        "<i2" => decode!(i16),
        "|i1" => decode!(i8),
        "|u1" | "|b1" => decode!(u8),
        "<u2" => decode!(u16),
        "<u4" => decode!(u32),
        "<u8" => decode!(u64),
        other => {
            return Err(format(format!(
                "dtype {other} is not supported: use float32, float64 or a little-endian integer type"
            )));
        }
    };
    if let Some(index) = values.iter().position(|v| !v.is_finite()) {
        return Err(format(format!(
            "element {index} is {}: inputs must be finite numbers",
            values[index]
        )));
    }
    let array = if fortran_order {
        use ndarray::ShapeBuilder;
        ArrayD::from_shape_vec(IxDyn(&shape).f(), values)
            .map(|array| array.as_standard_layout().into_owned())
    } else {
        ArrayD::from_shape_vec(IxDyn(&shape), values)
    };
    array.map_err(|error| format(error.to_string()))
}

/// Writes `array` as a `float32` `.npy` (version 1.0).
pub fn write_f32(path: &Path, array: &ArrayD<f64>) -> Result<(), NpyError> {
    let shape = match array.shape() {
        [single] => format!("({single},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    // Pad so that the data starts at a multiple of 64 bytes, ending with a newline.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for value in array.as_standard_layout().iter() {
        bytes.extend_from_slice(&(*value as f32).to_le_bytes());
    }
    std::fs::write(path, bytes).map_err(|source| NpyError::Io {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let dir = std::env::temp_dir().join(format!("cim-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.npy");
        let array = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![0.5, -1.0, 2.0, 3.25, 4.0, -0.125])
            .unwrap();
        write_f32(&path, &array).unwrap();
        assert_eq!(read(&path).unwrap(), array);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(
            (10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize) % 64,
            0,
            "data is 64-byte aligned"
        );
        std::fs::write(&path, b"not numpy").unwrap();
        assert!(
            read(&path)
                .unwrap_err()
                .to_string()
                .contains("not a .npy file")
        );
        let mut big_endian = bytes.clone();
        let at = big_endian.windows(3).position(|w| w == b"<f4").unwrap();
        big_endian[at] = b'>';
        std::fs::write(&path, &big_endian).unwrap();
        assert!(
            read(&path)
                .unwrap_err()
                .to_string()
                .contains("dtype >f4 is not supported")
        );
        let mut truncated = bytes.clone();
        truncated.truncate(bytes.len() - 4);
        std::fs::write(&path, &truncated).unwrap();
        assert!(read(&path).unwrap_err().to_string().contains("needs 24"));
        // Fortran order: column-major data, read into its rows.
        let with_order = |order: &[u8; 5]| {
            let mut edited = bytes.clone();
            let at = edited.windows(5).position(|w| w == b"False").unwrap();
            edited[at..at + 5].copy_from_slice(order);
            edited
        };
        std::fs::write(&path, with_order(b"True ")).unwrap();
        let fortran = read(&path).unwrap();
        let rows: Vec<f64> = fortran.iter().copied().collect();
        assert_eq!(rows, [0.5, 2.0, 4.0, -1.0, 3.25, -0.125]);
        std::fs::write(&path, with_order(b"1    ")).unwrap();
        assert!(
            read(&path)
                .unwrap_err()
                .to_string()
                .contains("'fortran_order' is 1")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
