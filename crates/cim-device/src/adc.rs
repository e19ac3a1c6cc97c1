//! What an ADC does to the value it converts, besides quantizing it: a per-column
//! gain and offset (fixed on a chip: the spread of its sense amplifiers), noise on
//! every conversion, and a saturating S-shaped transfer curve (integral
//! nonlinearity). Values are in the ADC's range `[lo, hi]`.

use crate::rng::DeviceRng;

/// The ADC's non-idealities.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AdcModel {
    /// Standard deviation of the noise on each conversion, fraction of the range.
    pub noise: f64,
    /// Standard deviation of a column's offset, fraction of the range.
    pub offset_std: f64,
    /// Standard deviation of a column's gain around 1.
    pub gain_std: f64,
    /// Strength `k` of the S-curve `tanh(k·u)/tanh(k)` over the range mapped to
    /// `u` in [-1, 1] (0: linear).
    pub s_curve: f64,
}

/// One column's gain and offset (as a fraction of the range).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ColumnError {
    /// Gain, around 1.
    pub gain: f64,
    /// Offset, fraction of the range.
    pub offset: f64,
}

impl AdcModel {
    /// Whether conversions need more than quantization.
    pub fn is_ideal(&self) -> bool {
        *self == Self::default()
    }

    /// Whether columns differ.
    pub fn has_column_errors(&self) -> bool {
        self.offset_std > 0.0 || self.gain_std > 0.0
    }

    /// A column's gain and offset, drawn once per chip.
    pub fn column(&self, rng: &mut DeviceRng) -> ColumnError {
        let (g, o) = (rng.normal(), rng.normal());
        ColumnError {
            gain: 1.0 + self.gain_std * g,
            offset: self.offset_std * o,
        }
    }

    /// The value the converter quantizes for `y`, in a column with `error`, with
    /// `draw` a standard normal for this conversion's noise.
    pub fn analog(&self, y: f64, lo: f64, hi: f64, error: ColumnError, draw: f64) -> f64 {
        let (mid, half) = ((lo + hi) / 2.0, (hi - lo) / 2.0);
        let range = hi - lo;
        let value = mid + error.gain * (y - mid) + (error.offset + self.noise * draw) * range;
        if self.s_curve > 0.0 && half > 0.0 {
            let u = ((value - mid) / half).clamp(-1.0, 1.0);
            mid + half * (self.s_curve * u).tanh() / self.s_curve.tanh()
        } else {
            value
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ideal_adc_passes_values_and_the_s_curve_keeps_the_ends() {
        let ideal = AdcModel::default();
        let none = ColumnError {
            gain: 1.0,
            offset: 0.0,
        };
        assert_eq!(ideal.analog(0.3, -1.0, 1.0, none, 0.7), 0.3);
        let curved = AdcModel {
            s_curve: 2.0,
            ..AdcModel::default()
        };
        assert!((curved.analog(1.0, -1.0, 1.0, none, 0.0) - 1.0).abs() < 1e-12);
        assert!((curved.analog(0.0, -1.0, 1.0, none, 0.0)).abs() < 1e-12);
        // Small values are amplified, as an S-curve does.
        assert!(curved.analog(0.1, -1.0, 1.0, none, 0.0) > 0.1);
        let skewed = ColumnError {
            gain: 1.1,
            offset: 0.01,
        };
        assert!((ideal.analog(0.5, 0.0, 1.0, skewed, 0.0) - (0.5 + 0.01)).abs() < 1e-12);
    }
}
