//! The `cim` dialect: its IRDL source and the names of its operations.

/// The IRDL definition of the dialect (`dialects/cim.irdl.mlir`), compiled into the
/// library so a context never depends on the working directory.
pub const IRDL_SOURCE: &str = include_str!("../../../dialects/cim.irdl.mlir");

/// The dialect namespace.
pub const NAMESPACE: &str = "cim";

/// Operation names, one constant each, so passes never spell them twice.
pub mod ops {
    /// Graph level: weight-stationary matrix product.
    pub const MATMUL: &str = "cim.matmul";
    /// Graph level: weight-stationary 2-D convolution.
    pub const CONV2D: &str = "cim.conv2d";
    /// Mapped level: a physical crossbar array (module-level symbol).
    pub const CROSSBAR: &str = "cim.crossbar";
    /// Mapped level: analog matrix-vector product on an array window.
    pub const MVM: &str = "cim.mvm";
    /// Digital: recombination of bit slices.
    pub const SHIFT_ADD: &str = "cim.shift_add";
    /// Digital: sum of row-tile partial products.
    pub const ACCUMULATE: &str = "cim.accumulate";
    /// Digital: concatenation of column tiles.
    pub const CONCAT: &str = "cim.concat";
    /// Digital: differential-pair subtraction.
    pub const DIFF: &str = "cim.diff";
    /// Digital: per-column affine correction.
    pub const AFFINE: &str = "cim.affine";
    /// Digital: low-rank adapter.
    pub const ADAPTER: &str = "cim.adapter";
    /// Digital: real to integer.
    pub const QUANTIZE: &str = "cim.quantize";
    /// Digital: integer to real.
    pub const DEQUANTIZE: &str = "cim.dequantize";

    /// Every operation of the dialect.
    pub const ALL: [&str; 12] = [
        MATMUL, CONV2D, CROSSBAR, MVM, SHIFT_ADD, ACCUMULATE, CONCAT, DIFF, AFFINE, ADAPTER,
        QUANTIZE, DEQUANTIZE,
    ];
}
