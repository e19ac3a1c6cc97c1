//! Where the digital work between and after the MVMs runs: in `f64` as the IR
//! states it, or on the near-memory digital unit (`backends/nmdu`), whose Rust
//! reference and LLVM-generated code give the same bits.

use cim_nmdu::exec::Engine;

cim_choices::choice! {
    /// Where the digital ops after the MVMs run.
    pub enum Digital {
        /// In f64, as the IR states it.
        Float = "float",
        /// On the NMDU's fixed-point kernels, by their Rust reference semantics.
        Reference = "interp",
        /// On the NMDU's fixed-point kernels, as LLVM-generated code (JIT).
        Generated = "nmdu",
    }
    default Float
}

impl Digital {
    /// The NMDU engine that runs the work, if any.
    pub fn engine(self) -> Option<Engine> {
        match self {
            Self::Float => None,
            Self::Reference => Some(Engine::Reference),
            Self::Generated => Some(Engine::Generated),
        }
    }
}
