#![warn(missing_docs)]
//! NumPy `.npy` files: read any numeric dtype into `f64`, write `float32`, with
//! errors that name the file and say what to do. The format itself is npyz's
//! (versions 1.0 to 3.0, either byte order, C or Fortran order).

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

/// Reads a `.npy` file as `f64` (integers and booleans convert exactly).
pub fn read(path: &Path) -> Result<ArrayD<f64>, NpyError> {
    use npyz::{DType, Order, TypeChar};
    let name = path.display().to_string();
    let format = |message: String| NpyError::Format {
        path: name.clone(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|source| NpyError::Io {
        path: name.clone(),
        source,
    })?;
    if !bytes.starts_with(b"\x93NUMPY") {
        return Err(format(
            "not a .npy file (no \\x93NUMPY magic): save arrays with numpy.save".into(),
        ));
    }
    let file = npyz::NpyFile::new(&bytes[..])
        .map_err(|error| format(format!("not a valid .npy header: {error}")))?;
    let shape = file
        .shape()
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<Vec<usize>, _>>()
        .map_err(|_| format(format!("shape {:?} is too large", file.shape())))?;
    let fortran_order = file.order() == Order::Fortran;
    let DType::Plain(dtype) = file.dtype() else {
        return Err(format(
            "a structured dtype: save a plain numeric array (float32, float64 or integers)".into(),
        ));
    };
    let data = |error: std::io::Error| {
        format(format!(
            "its data does not fit shape {shape:?} of dtype {dtype}: {error}"
        ))
    };
    macro_rules! decode {
        ($ty:ty) => {
            file.into_vec::<$ty>()
                .map_err(data)?
                .into_iter()
                .map(|v| v as f64)
                .collect::<Vec<f64>>()
        };
    }
    let values = match (dtype.type_char(), dtype.size_field()) {
        (TypeChar::Float, 4) => decode!(f32),
        (TypeChar::Float, 8) => decode!(f64),
        (TypeChar::Int, 1) => decode!(i8),
        (TypeChar::Int, 2) => decode!(i16),
        (TypeChar::Int, 4) => decode!(i32),
        (TypeChar::Int, 8) => decode!(i64),
        (TypeChar::Uint, 1) => decode!(u8),
        (TypeChar::Uint, 2) => decode!(u16),
        (TypeChar::Uint, 4) => decode!(u32),
        (TypeChar::Uint, 8) => decode!(u64),
        (TypeChar::Bool, 1) => file
            .into_vec::<bool>()
            .map_err(data)?
            .into_iter()
            .map(f64::from)
            .collect(),
        _ => {
            return Err(format(format!(
                "dtype {dtype} is not supported: use float32, float64, an integer type or bool"
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

/// Writes `array` as a `float32` `.npy`.
pub fn write_f32(path: &Path, array: &ArrayD<f64>) -> Result<(), NpyError> {
    use npyz::WriterBuilder;
    let io = |source: std::io::Error| NpyError::Io {
        path: path.display().to_string(),
        source,
    };
    let shape: Vec<u64> = array.shape().iter().map(|&d| d as u64).collect();
    let file = std::fs::File::create(path).map_err(io)?;
    let mut writer = npyz::WriteOptions::<f32>::new()
        .default_dtype()
        .shape(&shape)
        .writer(std::io::BufWriter::new(file))
        .begin_nd()
        .map_err(io)?;
    writer
        .extend(array.as_standard_layout().iter().map(|&v| v as f32))
        .map_err(io)?;
    writer.finish().map_err(io)
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
        // Big-endian data reads the same values.
        let mut big_endian = bytes.clone();
        let at = big_endian.windows(3).position(|w| w == b"<f4").unwrap();
        big_endian[at] = b'>';
        let data = big_endian.len() - 24;
        for value in big_endian[data..].chunks_exact_mut(4) {
            value.reverse();
        }
        std::fs::write(&path, &big_endian).unwrap();
        assert_eq!(read(&path).unwrap(), array);
        let mut complex = bytes.clone();
        complex[at..at + 3].copy_from_slice(b"<c8");
        std::fs::write(&path, &complex).unwrap();
        let error = read(&path).unwrap_err().to_string();
        assert!(error.contains("dtype <c8 is not supported"), "{error}");
        let mut truncated = bytes.clone();
        truncated.truncate(bytes.len() - 4);
        std::fs::write(&path, &truncated).unwrap();
        let error = read(&path).unwrap_err().to_string();
        assert!(error.contains("does not fit shape [2, 3]"), "{error}");
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
        let error = read(&path).unwrap_err().to_string();
        assert!(error.contains("not a valid .npy header"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
