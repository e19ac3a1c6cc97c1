//! A group kernel: what turns the ADC codes of a group of MVMs into one output,
//! and the per-column tables it reads (the crate docs give its integer semantics).

/// Most planes one kernel combines.
pub const MAX_PLANES: usize = 256;

/// The activation after accumulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activation {
    /// None.
    Identity,
    /// `max(acc, 0)`.
    Relu,
    /// `clamp(acc, lo, hi)`, in accumulator units.
    Clip {
        /// Lower bound.
        lo: i64,
        /// Upper bound.
        hi: i64,
    },
    /// `acc` where positive, else `round(acc · slope, 15)`: LeakyReLU with the
    /// negative slope in Q.15 (|slope| <= 2^15).
    Leaky {
        /// The negative side's slope, in 2^-15 steps.
        slope: i64,
    },
}

/// Fractional bits of a LeakyReLU slope.
pub const SLOPE_FRACTION: u32 = 15;

/// The shape of the post-MVM work of one group of MVMs: what code is generated for.
/// Its per-column numbers are [`Tables`], so one kernel serves every group of the
/// same shape.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Kernel {
    /// Input planes (ADC codes) combined per column.
    pub planes: usize,
    /// Width of the unsigned codes (1..=24): larger ones saturate.
    pub code_bits: u32,
    /// Width of the signed per-plane, per-column multipliers (2..=24).
    pub multiplier_bits: u32,
    /// Width of the signed, saturating accumulator (8..=48).
    pub accumulator_bits: u32,
    /// A bound the tables keep (checked by [`Tables::problem`]): for every column,
    /// `|bias| + Σ_p |mult_p| · (2^code_bits − 1) < 2^(sum_bits − 1)` (2..=64). Where
    /// it is at most 32 (with a 32-bit accumulator and output shift below 32), the
    /// generated code accumulates in 32-bit lanes, twice as many per vector.
    pub sum_bits: u32,
    /// The activation.
    pub activation: Activation,
    /// Right shift from the accumulator to the output.
    pub out_shift: u32,
    /// Output width in bits (2..=32), signed, saturating.
    pub out_bits: u32,
}

impl Kernel {
    /// What is wrong with the kernel, if anything.
    pub fn problem(&self) -> Option<String> {
        if !(1..=MAX_PLANES).contains(&self.planes) {
            return Some(format!(
                "{} planes: a kernel combines 1..={MAX_PLANES}",
                self.planes
            ));
        }
        if !(1..=24).contains(&self.code_bits) {
            return Some(format!("code width {} is not in 1..=24", self.code_bits));
        }
        if !(2..=24).contains(&self.multiplier_bits) {
            return Some(format!(
                "multiplier width {} is not in 2..=24",
                self.multiplier_bits
            ));
        }
        if !(8..=48).contains(&self.accumulator_bits) {
            return Some(format!(
                "accumulator width {} is not in 8..=48",
                self.accumulator_bits
            ));
        }
        if !(2..=64).contains(&self.sum_bits) {
            return Some(format!("sum width {} is not in 2..=64", self.sum_bits));
        }
        if self.out_shift > 47 {
            return Some(format!("output shift {} exceeds 47", self.out_shift));
        }
        if !(2..=32).contains(&self.out_bits) {
            return Some(format!("output width {} is not in 2..=32", self.out_bits));
        }
        if let Activation::Clip { lo, hi } = self.activation
            && lo > hi
        {
            return Some(format!("clip bounds {lo} > {hi}"));
        }
        if let Activation::Leaky { slope } = self.activation
            && slope.abs() > 1 << SLOPE_FRACTION
        {
            return Some(format!("LeakyReLU slope {slope} exceeds 2^15 in magnitude"));
        }
        None
    }
}

/// The per-column numbers of one group: what a kernel multiplies and adds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tables {
    /// Columns.
    pub cols: usize,
    /// `planes × cols` signed multipliers, plane-major.
    pub multipliers: Vec<i32>,
    /// `cols` biases, in accumulator units.
    pub bias: Vec<i64>,
}

impl Tables {
    /// What makes the tables unfit for `kernel`, if anything.
    pub fn problem(&self, kernel: &Kernel) -> Option<String> {
        if self.multipliers.len() != kernel.planes * self.cols {
            return Some(format!(
                "{} multipliers for {} planes of {} columns",
                self.multipliers.len(),
                kernel.planes,
                self.cols
            ));
        }
        if self.bias.len() != self.cols {
            return Some(format!(
                "{} biases for {} columns",
                self.bias.len(),
                self.cols
            ));
        }
        let limit = 1i64 << (kernel.multiplier_bits - 1);
        if let Some(m) = self
            .multipliers
            .iter()
            .find(|&&m| !(-limit..limit).contains(&i64::from(m)))
        {
            return Some(format!(
                "multiplier {m} does not fit {} bits",
                kernel.multiplier_bits
            ));
        }
        let limit = 1i64 << (kernel.accumulator_bits - 1);
        if let Some(b) = self.bias.iter().find(|&&b| !(-limit..limit).contains(&b)) {
            return Some(format!(
                "bias {b} does not fit the {}-bit accumulator",
                kernel.accumulator_bits
            ));
        }
        let needed = sum_bits(self, kernel.planes, kernel.code_bits);
        if needed > kernel.sum_bits {
            return Some(format!(
                "the tables can sum to {}-bit values, beyond the kernel's {}-bit bound",
                needed, kernel.sum_bits
            ));
        }
        None
    }
}

/// The smallest `sum_bits` that `tables` keep for codes of `code_bits`.
pub fn sum_bits(tables: &Tables, planes: usize, code_bits: u32) -> u32 {
    let top = (1u128 << code_bits) - 1;
    let largest = (0..tables.cols)
        .map(|c| {
            u128::from(tables.bias[c].unsigned_abs())
                + (0..planes)
                    .map(|p| {
                        u128::from(tables.multipliers[p * tables.cols + c].unsigned_abs()) * top
                    })
                    .sum::<u128>()
        })
        .max()
        .unwrap_or(0);
    (129 - largest.leading_zeros()).max(2)
}

/// Checks the planes of `rows × cols` codes a kernel is about to read.
pub(crate) fn check_inputs(
    kernel: &Kernel,
    tables: &Tables,
    planes: &[&[i32]],
    rows: usize,
) -> Result<(), String> {
    if let Some(problem) = kernel.problem().or_else(|| tables.problem(kernel)) {
        return Err(problem);
    }
    if planes.len() != kernel.planes {
        return Err(format!(
            "{} planes for a kernel of {}",
            planes.len(),
            kernel.planes
        ));
    }
    let n = rows * tables.cols;
    if let Some(plane) = planes.iter().find(|p| p.len() != n) {
        return Err(format!(
            "a plane of {} codes for {rows} rows of {} columns",
            plane.len(),
            tables.cols
        ));
    }
    Ok(())
}
