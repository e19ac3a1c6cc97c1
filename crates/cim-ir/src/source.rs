//! Reading MLIR source: splitting at `// -----` and parsing with a file name, so every
//! location and diagnostic names the file and the line in the *whole* file.

use melior::{Context, StringRef, ir::Module};

/// One piece of an input split at `// -----` markers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// 1-based line of the input where the chunk starts.
    pub first_line: usize,
    /// The chunk's text.
    pub text: String,
}

impl Chunk {
    /// The text to parse: the chunk preceded by blank lines, so line numbers in
    /// locations are those of the whole input.
    pub fn padded_text(&self) -> String {
        "\n".repeat(self.first_line - 1) + &self.text
    }
}

/// Whether a line is a split marker (`// -----`, like upstream `--split-input-file`).
pub fn is_split_marker(line: &str) -> bool {
    line.trim_start()
        .strip_prefix("//")
        .is_some_and(|rest| rest.trim_start().starts_with("-----"))
}

/// Splits `source` at marker lines; with `split == false`, the whole input is one chunk.
pub fn split_input(source: &str, split: bool) -> Vec<Chunk> {
    if !split {
        return vec![Chunk {
            first_line: 1,
            text: source.to_owned(),
        }];
    }
    let mut chunks = Vec::new();
    let mut current = Chunk {
        first_line: 1,
        text: String::new(),
    };
    for (index, line) in source.split_inclusive('\n').enumerate() {
        if is_split_marker(line) {
            let next = Chunk {
                first_line: index + 2,
                text: String::new(),
            };
            chunks.push(std::mem::replace(&mut current, next));
        } else {
            current.text.push_str(line);
        }
    }
    chunks.push(current);
    chunks
}

unsafe extern "C" {
    /// cpp/shim.cpp: `mlir::parseSourceString<ModuleOp>` with a buffer name.
    fn cimParseModuleNamed(
        context: mlir_sys::MlirContext,
        source: mlir_sys::MlirStringRef,
        name: mlir_sys::MlirStringRef,
    ) -> mlir_sys::MlirModule;
}

/// Parses `text` as a module whose locations name `file`. Several top-level
/// operations are wrapped in an implicit `builtin.module`, as in `mlir-opt`.
/// On failure the parser's diagnostics have gone to the context's handler.
pub fn parse_module<'c>(context: &'c Context, text: &str, file: &str) -> Option<Module<'c>> {
    if let Some((line, column)) = too_deep(text) {
        let location = melior::ir::Location::new(context, file, line, column);
        let message = std::ffi::CString::new(format!(
            "brackets nest more than {MAX_NESTING} levels deep here: cim reads MLIR nested at most that deep"
        ))
        .expect("no NUL in the message");
        // SAFETY: a valid location; MLIR copies the message.
        unsafe { mlir_sys::mlirEmitError(location.to_raw(), message.as_ptr()) };
        return None;
    }
    // MLIR's lexer reads one byte past the text and takes a NUL there for its end
    // (an unterminated string literal runs on to it): give it one.
    let mut terminated = String::with_capacity(text.len() + 1);
    terminated.push_str(text);
    terminated.push('\0');
    // `terminated` outlives the call, and the byte after the source is a NUL.
    parse_named(
        context,
        StringRef::new(&terminated[..text.len()]).to_raw(),
        file,
    )
}

/// Parses `source` (MLIR text or bytecode, which MLIR tells apart by its first
/// bytes) as a module whose locations name `file`, refusing constants larger than
/// cim reads. `source` must stay valid for the call.
fn parse_named<'c>(
    context: &'c Context,
    source: mlir_sys::MlirStringRef,
    file: &str,
) -> Option<Module<'c>> {
    // SAFETY: the caller keeps `source` valid, `file` outlives the call (the
    // parser copies what it keeps); a null module means failure, otherwise we
    // own it.
    let module = unsafe {
        let raw = cimParseModuleNamed(context.to_raw(), source, StringRef::new(file).to_raw());
        Module::from_option_raw(raw)
    }?;
    if let Some((op, count)) = oversized_constant(&module) {
        let message = std::ffi::CString::new(format!(
            "a constant of {count} elements: cim reads constants of at most {MAX_CONSTANT_ELEMENTS} (weights are expanded in memory)"
        ))
        .expect("no NUL in the message");
        // SAFETY: a valid location; MLIR copies the message.
        unsafe { mlir_sys::mlirEmitError(op.to_raw(), message.as_ptr()) };
        return None;
    }
    Some(module)
}

/// The first bytes of MLIR bytecode.
pub const BYTECODE_MAGIC: &[u8] = b"ML\xefR";

/// Whether `bytes` are MLIR bytecode (rather than text).
pub fn is_bytecode(bytes: &[u8]) -> bool {
    bytes.starts_with(BYTECODE_MAGIC)
}

/// Parses MLIR bytecode (`mlir-opt --emit-bytecode`, `cim-opt --emit-bytecode`)
/// as a module whose diagnostics name `file`. On failure the reader's
/// diagnostics have gone to the context's handler.
pub fn parse_bytecode<'c>(context: &'c Context, bytes: &[u8], file: &str) -> Option<Module<'c>> {
    // The reader wants its buffer aligned as the largest alignment a resource in
    // it asks for: copy into 64-byte-aligned storage.
    #[repr(C, align(64))]
    #[derive(Clone, Copy)]
    struct Block([u8; 64]);
    let mut blocks = vec![Block([0; 64]); bytes.len().div_ceil(64)];
    // SAFETY: `blocks` holds at least `bytes.len()` bytes and does not overlap it.
    let aligned = unsafe {
        std::ptr::copy_nonoverlapping(
            bytes.as_ptr(),
            blocks.as_mut_ptr().cast::<u8>(),
            bytes.len(),
        );
        std::slice::from_raw_parts(blocks.as_ptr().cast::<u8>(), bytes.len())
    };
    let source = mlir_sys::MlirStringRef {
        data: aligned.as_ptr().cast(),
        length: aligned.len(),
    };
    parse_named(context, source, file)
}

/// `module` as MLIR bytecode.
pub fn write_bytecode(module: &Module) -> Vec<u8> {
    unsafe extern "C" fn append(chunk: mlir_sys::MlirStringRef, bytes: *mut std::ffi::c_void) {
        // SAFETY: `bytes` is the Vec passed below; the chunk is valid for the call.
        unsafe {
            let bytes = &mut *bytes.cast::<Vec<u8>>();
            bytes.extend_from_slice(std::slice::from_raw_parts(
                chunk.data.cast::<u8>(),
                chunk.length,
            ));
        }
    }
    let mut bytes: Vec<u8> = Vec::new();
    // SAFETY: a live operation; the callback only appends to `bytes`.
    unsafe {
        mlir_sys::mlirOperationWriteBytecode(
            module.as_operation().to_raw(),
            Some(append),
            (&mut bytes as *mut Vec<u8>).cast(),
        );
    }
    bytes
}

/// The most elements a constant may hold: reading weights expands splats, and
/// tiling copies them.
pub const MAX_CONSTANT_ELEMENTS: i64 = 1 << 28;

/// The location of the first op of `module` holding a constant of more than
/// [`MAX_CONSTANT_ELEMENTS`] elements, and that count.
fn oversized_constant<'c>(module: &Module<'c>) -> Option<(melior::ir::Location<'c>, i64)> {
    use melior::ir::{attribute::AttributeLike, operation::OperationLike};
    crate::query::ops_in(module.as_operation())
        .into_iter()
        .find_map(|op| {
            op.attributes().find_map(|(_, attribute)| {
                let raw = attribute.to_raw();
                // SAFETY: kind query, then a count query on an elements attribute.
                let count = unsafe {
                    mlir_sys::mlirAttributeIsAElements(raw)
                        .then(|| mlir_sys::mlirElementsAttrGetNumElements(raw))
                }?;
                (count > MAX_CONSTANT_ELEMENTS).then(|| (op.location(), count))
            })
        })
}

/// How deep brackets may nest in MLIR source. MLIR's parser recurses once per
/// level, so a deeper input would overflow the stack; real programs stay within a
/// few dozen levels.
pub const MAX_NESTING: usize = 256;

/// The 1-based line and column where `text`'s brackets (`(`, `[`, `{`, `<`) first
/// nest deeper than [`MAX_NESTING`], if they do. Strings, comments and arrows
/// (`->`) are skipped.
pub fn too_deep(text: &str) -> Option<(usize, usize)> {
    // Bytes, not chars: the text may hold hundreds of megabytes of hex weights.
    // Columns count bytes, as MLIR's locations do.
    let bytes = text.as_bytes();
    let (mut depth, mut line, mut line_start) = (0usize, 1usize, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                line += 1;
                line_start = i + 1;
            }
            b'"' => {
                // A string literal, to its closing quote.
                i += 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => i += 1,
                        b'"' => break,
                        b'\n' => {
                            line += 1;
                            line_start = i + 1;
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                // A comment, to the end of the line (the newline counted above).
                while i + 1 < bytes.len() && bytes[i + 1] != b'\n' {
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' | b'<' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some((line, i - line_start + 1));
                }
            }
            b'>' if i > 0 && bytes[i - 1] == b'-' => {}
            b')' | b']' | b'}' | b'>' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}
