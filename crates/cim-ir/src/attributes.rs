//! Typed views of the `cim` dialect attributes (`#cim.geometry<...>` and friends).
//!
//! IRDL attributes have no C API accessors, so a view reads the attribute's printed
//! form, which MLIR defines exactly (`#cim.adc<8 : i64, -1.0 : f64, 1.0 : f64>`), and
//! builds attributes by parsing the same form.

use melior::{Context, ir::Attribute};

/// One parameter of a dialect attribute.
#[derive(Clone, Debug, PartialEq)]
pub enum Param {
    /// An integer attribute (`8 : i64`).
    Int(i64),
    /// A float attribute (`1.0 : f64`).
    Float(f64),
    /// A string attribute (`"bit_serial"`).
    Str(String),
}

impl Param {
    fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if let Some(body) = text.strip_prefix('"') {
            return body
                .strip_suffix('"')
                .map(|body| Self::Str(body.to_owned()));
        }
        let (value, ty) = text.split_once(" : ")?;
        if ty.starts_with('f') || ty == "bf16" {
            value.trim().parse().ok().map(Self::Float)
        } else {
            value.trim().parse().ok().map(Self::Int)
        }
    }

    fn int(&self) -> Option<i64> {
        match self {
            Self::Int(value) => Some(*value),
            _ => None,
        }
    }

    fn float(&self) -> Option<f64> {
        match self {
            Self::Float(value) => Some(*value),
            Self::Int(value) => Some(*value as f64),
            Self::Str(_) => None,
        }
    }
}

/// A `cim` attribute split into its name and parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct DialectAttribute {
    /// Name without the dialect prefix (`geometry`).
    pub name: String,
    /// Parameters in order.
    pub params: Vec<Param>,
}

impl DialectAttribute {
    /// Reads `#cim.NAME<p, ...>` or `#cim.NAME`; `None` for anything else.
    pub fn read(attribute: Attribute) -> Option<Self> {
        Self::read_text(&attribute.to_string())
    }

    /// Reads the printed form of an attribute.
    pub fn read_text(text: &str) -> Option<Self> {
        let rest = text.trim().strip_prefix("#cim.")?;
        let Some(open) = rest.find('<') else {
            return Some(Self {
                name: rest.to_owned(),
                params: Vec::new(),
            });
        };
        let body = rest[open + 1..].strip_suffix('>')?;
        let params = split_top_level(body)
            .into_iter()
            .map(Param::parse)
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            name: rest[..open].to_owned(),
            params,
        })
    }

    fn expect(attribute: Attribute, name: &str, arity: usize) -> Option<Vec<Param>> {
        Self::read(attribute)
            .filter(|read| read.name == name && read.params.len() == arity)
            .map(|read| read.params)
    }
}

/// Splits at commas outside quotes.
fn split_top_level(body: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (index, c) in body.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&body[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&body[start..]);
    parts
}

/// An MLIR float literal that reads back as the same f64 (MLIR wants a decimal
/// point: `1e0` does not parse, `1.00000000000000000e0` does).
pub fn float_literal(value: f64) -> String {
    format!("{value:.17e}")
}

fn build<'c>(context: &'c Context, text: &str) -> Attribute<'c> {
    Attribute::parse(context, text).unwrap_or_else(|| {
        panic!("cim dialect attribute {text} must parse: is the dialect loaded?")
    })
}

/// `#cim.geometry<rows, cols>`: the physical size of an array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Word lines (inputs).
    pub rows: i64,
    /// Bit lines (outputs).
    pub cols: i64,
}

impl Geometry {
    /// Reads the attribute.
    pub fn read(attribute: Attribute) -> Option<Self> {
        let p = DialectAttribute::expect(attribute, "geometry", 2)?;
        Some(Self {
            rows: p[0].int()?,
            cols: p[1].int()?,
        })
    }

    /// Builds the attribute.
    pub fn build<'c>(&self, context: &'c Context) -> Attribute<'c> {
        build(
            context,
            &format!("#cim.geometry<{} : i64, {} : i64>", self.rows, self.cols),
        )
    }
}

/// `#cim.place<chip, core, array>`: where an array sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Place {
    /// Chip index.
    pub chip: i64,
    /// Core index within the chip.
    pub core: i64,
    /// Array index within the core.
    pub array: i64,
}

impl Place {
    /// Reads the attribute.
    pub fn read(attribute: Attribute) -> Option<Self> {
        let p = DialectAttribute::expect(attribute, "place", 3)?;
        Some(Self {
            chip: p[0].int()?,
            core: p[1].int()?,
            array: p[2].int()?,
        })
    }

    /// Builds the attribute.
    pub fn build<'c>(&self, context: &'c Context) -> Attribute<'c> {
        build(
            context,
            &format!(
                "#cim.place<{} : i64, {} : i64, {} : i64>",
                self.chip, self.core, self.array
            ),
        )
    }
}

/// `#cim.cell<bits>`: bits stored per memory cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cell {
    /// Bits per cell (2^bits levels).
    pub bits: i64,
}

impl Cell {
    /// Reads the attribute.
    pub fn read(attribute: Attribute) -> Option<Self> {
        let p = DialectAttribute::expect(attribute, "cell", 1)?;
        Some(Self { bits: p[0].int()? })
    }

    /// Builds the attribute.
    pub fn build<'c>(&self, context: &'c Context) -> Attribute<'c> {
        build(context, &format!("#cim.cell<{} : i64>", self.bits))
    }
}

/// `#cim.slice<index, shift>`: which weight bit slice an array holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slice {
    /// Slice number, 0 for the least significant.
    pub index: i64,
    /// Significance: the slice contributes `value * 2^shift`.
    pub shift: i64,
}

impl Slice {
    /// Reads the attribute.
    pub fn read(attribute: Attribute) -> Option<Self> {
        let p = DialectAttribute::expect(attribute, "slice", 2)?;
        Some(Self {
            index: p[0].int()?,
            shift: p[1].int()?,
        })
    }

    /// Builds the attribute.
    pub fn build<'c>(&self, context: &'c Context) -> Attribute<'c> {
        build(
            context,
            &format!("#cim.slice<{} : i64, {} : i64>", self.index, self.shift),
        )
    }
}

/// `#cim.window<row, col>`: the top-left corner of the block an MVM reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// First row.
    pub row: i64,
    /// First column.
    pub col: i64,
}

impl Window {
    /// Reads the attribute.
    pub fn read(attribute: Attribute) -> Option<Self> {
        let p = DialectAttribute::expect(attribute, "window", 2)?;
        Some(Self {
            row: p[0].int()?,
            col: p[1].int()?,
        })
    }

    /// Builds the attribute.
    pub fn build<'c>(&self, context: &'c Context) -> Attribute<'c> {
        build(
            context,
            &format!("#cim.window<{} : i64, {} : i64>", self.row, self.col),
        )
    }
}

/// How a DAC drives the word lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DacMode {
    /// One bit plane per cycle through 1-bit drivers.
    BitSerial,
    /// All bits at once as one analog level.
    MultiLevel,
}

impl DacMode {
    /// The dialect spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BitSerial => "bit_serial",
            Self::MultiLevel => "multi_level",
        }
    }
}

/// A converter attribute: a DAC, an ADC, or `#cim.ideal` (none).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Converter {
    /// `#cim.ideal`: infinite precision.
    Ideal,
    /// `#cim.dac<bits, mode, lo, hi>`.
    Dac {
        /// Resolution.
        bits: i64,
        /// Drive mode.
        mode: DacMode,
        /// Lowest input value.
        lo: f64,
        /// Highest input value.
        hi: f64,
    },
    /// `#cim.adc<bits, lo, hi>`.
    Adc {
        /// Resolution.
        bits: i64,
        /// Lowest output value.
        lo: f64,
        /// Highest output value.
        hi: f64,
    },
    /// `#cim.adc_per_plane<bits, lo, hi>`: one conversion per bit plane of a
    /// bit-serial input, each over [lo, hi] in cell-level units.
    AdcPerPlane {
        /// Resolution.
        bits: i64,
        /// Lowest plane sum.
        lo: f64,
        /// Highest plane sum.
        hi: f64,
    },
    /// `#cim.dac_managed<bits, scaling, constant, bound>`: each input vector divided
    /// by its scale, rounded to 2^bits − 1 levels symmetric over [−bound, bound],
    /// clipped; the output multiplied back (aihwkit's noise management).
    DacManaged {
        /// Resolution: 2^bits − 1 levels.
        bits: i64,
        /// How an input vector's scale is chosen.
        scaling: InputScaling,
        /// The scale of [`InputScaling::Constant`].
        constant: f64,
        /// The levels span [−bound, bound].
        bound: f64,
    },
    /// `#cim.adc_managed<bits, bound, passes>`: 2^bits − 1 levels symmetric over
    /// [−bound, bound], clipped; a vector whose output clips is converted again with
    /// its input halved, up to `passes` conversions (aihwkit's bound management).
    AdcManaged {
        /// Resolution: 2^bits − 1 levels.
        bits: i64,
        /// The levels span [−bound, bound].
        bound: f64,
        /// Conversions at most per input vector (1: no bound management).
        passes: i64,
    },
}

/// How a managed DAC scales each input vector (aihwkit's `noise_management`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputScaling {
    /// Not at all (`NONE`).
    None,
    /// By its largest magnitude (`ABS_MAX`): every vector fills the DAC's range.
    AbsMax,
    /// By a constant (`CONSTANT`).
    Constant,
}

impl InputScaling {
    /// The dialect spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::AbsMax => "abs_max",
            Self::Constant => "constant",
        }
    }

    fn read(text: &str) -> Option<Self> {
        [Self::None, Self::AbsMax, Self::Constant]
            .into_iter()
            .find(|scaling| scaling.as_str() == text)
    }
}

/// The step of a symmetric converter: 2^bits − 1 levels spanning [−bound, bound].
pub fn symmetric_step(bits: i64, bound: f64) -> f64 {
    2.0 * bound / ((1u64 << bits.clamp(2, 62)) - 2) as f64
}

impl Converter {
    /// Reads any of the three forms.
    pub fn read(attribute: Attribute) -> Option<Self> {
        let read = DialectAttribute::read(attribute)?;
        let p = &read.params;
        match (read.name.as_str(), p.len()) {
            ("ideal", 0) => Some(Self::Ideal),
            ("adc", 3) => Some(Self::Adc {
                bits: p[0].int()?,
                lo: p[1].float()?,
                hi: p[2].float()?,
            }),
            ("adc_per_plane", 3) => Some(Self::AdcPerPlane {
                bits: p[0].int()?,
                lo: p[1].float()?,
                hi: p[2].float()?,
            }),
            ("dac_managed", 4) => Some(Self::DacManaged {
                bits: p[0].int()?,
                scaling: match &p[1] {
                    Param::Str(scaling) => InputScaling::read(scaling)?,
                    _ => return None,
                },
                constant: p[2].float()?,
                bound: p[3].float()?,
            }),
            ("adc_managed", 3) => Some(Self::AdcManaged {
                bits: p[0].int()?,
                bound: p[1].float()?,
                passes: p[2].int()?,
            }),
            ("dac", 4) => Some(Self::Dac {
                bits: p[0].int()?,
                mode: match &p[1] {
                    Param::Str(mode) if mode == "bit_serial" => DacMode::BitSerial,
                    Param::Str(mode) if mode == "multi_level" => DacMode::MultiLevel,
                    _ => return None,
                },
                lo: p[2].float()?,
                hi: p[3].float()?,
            }),
            _ => None,
        }
    }

    /// Builds the attribute.
    pub fn build<'c>(&self, context: &'c Context) -> Attribute<'c> {
        let text = match self {
            Self::Ideal => "#cim.ideal".to_owned(),
            Self::Dac { bits, mode, lo, hi } => format!(
                "#cim.dac<{bits} : i64, \"{}\", {} : f64, {} : f64>",
                mode.as_str(),
                float_literal(*lo),
                float_literal(*hi)
            ),
            Self::Adc { bits, lo, hi } => format!(
                "#cim.adc<{bits} : i64, {} : f64, {} : f64>",
                float_literal(*lo),
                float_literal(*hi)
            ),
            Self::AdcPerPlane { bits, lo, hi } => format!(
                "#cim.adc_per_plane<{bits} : i64, {} : f64, {} : f64>",
                float_literal(*lo),
                float_literal(*hi)
            ),
            Self::DacManaged {
                bits,
                scaling,
                constant,
                bound,
            } => format!(
                "#cim.dac_managed<{bits} : i64, \"{}\", {} : f64, {} : f64>",
                scaling.as_str(),
                float_literal(*constant),
                float_literal(*bound)
            ),
            Self::AdcManaged {
                bits,
                bound,
                passes,
            } => format!(
                "#cim.adc_managed<{bits} : i64, {} : f64, {passes} : i64>",
                float_literal(*bound)
            ),
        };
        build(context, &text)
    }

    /// The same converter at another resolution (its range and mode kept); ideal
    /// stays ideal.
    pub fn with_bits(self, new: i64) -> Self {
        match self {
            Self::Ideal => Self::Ideal,
            Self::Dac { mode, lo, hi, .. } => Self::Dac {
                bits: new,
                mode,
                lo,
                hi,
            },
            Self::Adc { lo, hi, .. } => Self::Adc { bits: new, lo, hi },
            Self::AdcPerPlane { lo, hi, .. } => Self::AdcPerPlane { bits: new, lo, hi },
            Self::DacManaged {
                scaling,
                constant,
                bound,
                ..
            } => Self::DacManaged {
                bits: new,
                scaling,
                constant,
                bound,
            },
            Self::AdcManaged { bound, passes, .. } => Self::AdcManaged {
                bits: new,
                bound,
                passes,
            },
        }
    }

    /// Resolution in bits; `None` when ideal.
    pub fn bits(&self) -> Option<i64> {
        match self {
            Self::Ideal => None,
            Self::Dac { bits, .. }
            | Self::Adc { bits, .. }
            | Self::AdcPerPlane { bits, .. }
            | Self::DacManaged { bits, .. }
            | Self::AdcManaged { bits, .. } => Some(*bits),
        }
    }

    /// The covered range; `None` when ideal.
    pub fn range(&self) -> Option<(f64, f64)> {
        match self {
            Self::Ideal => None,
            Self::Dac { lo, hi, .. }
            | Self::Adc { lo, hi, .. }
            | Self::AdcPerPlane { lo, hi, .. } => Some((*lo, *hi)),
            Self::DacManaged { bound, .. } | Self::AdcManaged { bound, .. } => {
                Some((-bound, *bound))
            }
        }
    }
}
