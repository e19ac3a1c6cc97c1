//! Programming a chip: every bit-sliced array's cell levels written into devices of
//! the target's technology (one device per cell, or a device pair per cell for
//! `sign = "pair"` arrays) and read back right after programming and `time`
//! seconds later (programming noise, drift, read noise, faults:
//! `cim_device::devices`), each column's ADC gain and offset drawn, and the lines
//! set up for IR drop. Drift compensation is the runtime's, through readouts
//! ([`crate::compensation`]). Each array draws from its own stream of the seed (by
//! its place in the module), so a chip is the same whatever else the module holds
//! after it. Only the cells some MVM reads are programmed: the gaps of an array
//! packed with several layers' blocks are never read (an MVM drives its block's
//! rows and converts its block's columns, IR drop included), so they hold 0 and
//! cost no draws (the random MLP of the speed table programs 11k of its array's
//! 32k pairs, as aihwkit programs its 11k weights).

use crate::{adc::ChipAdcs, irdrop::Lines};
use cim_device::{
    adc::AdcModel,
    devices::Devices,
    irdrop::{IrDropModel, Wires},
    rng::DeviceRng,
};
use cim_interp::InterpError;
use ndarray::Array2;
use std::collections::HashMap;

/// The chip a full-fidelity run reads.
#[derive(Clone, Debug)]
pub struct Chip<'d> {
    /// The devices.
    pub devices: &'d Devices,
    /// Seconds since programming.
    pub time: f64,
    /// Seed of every random draw (programming, and conversion noise).
    pub seed: u64,
    /// The ADCs' non-idealities.
    pub adc: AdcModel,
    /// Word and bit lines: with an IR-drop model, MVMs compute currents through them.
    pub wires: &'d Wires,
}

/// What the simulator knows of an array beyond its weights.
#[derive(Clone, Copy, Debug)]
pub struct ArrayCells {
    /// Bits per cell; `None` for analog cells.
    pub bits: Option<i64>,
    /// Its place among the module's arrays.
    pub index: usize,
    /// Its word lines (the geometry's rows).
    pub word_lines: usize,
    /// Whether each cell is a device pair holding a signed level (`sign = "pair"`).
    pub pair: bool,
}

/// The cells of an array one MVM reads: `rows x cols` from (`row`, `col`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadBlock {
    /// First row.
    pub row: usize,
    /// First column.
    pub col: usize,
    /// Rows (the MVM's input width).
    pub rows: usize,
    /// Columns (its output width).
    pub cols: usize,
}

/// Which cells of a `shape` array `blocks` read, row-major; `None` when they read
/// every cell.
pub(crate) fn read_mask((rows, cols): (usize, usize), blocks: &[ReadBlock]) -> Option<Vec<bool>> {
    let mut read = vec![false; rows * cols];
    for block in blocks {
        for row in block.row..block.row.saturating_add(block.rows).min(rows) {
            let start = row * cols + block.col.min(cols);
            let end = row * cols + block.col.saturating_add(block.cols).min(cols);
            read[start..end].fill(true);
        }
    }
    (!read.iter().all(|&read| read)).then_some(read)
}

/// A programmed chip: what its arrays hold, its ADCs, its lines.
pub struct Programmed {
    /// Each array's cell levels as read at the chip's time (uncompensated; f32, as
    /// the runtime's products read them: devices are noisy far above its precision).
    pub arrays: HashMap<String, Array2<f32>>,
    /// Each array's cell levels as read right after programming (the baseline of
    /// drift compensation; dropped once the factors are known).
    pub at_programming: HashMap<String, Array2<f32>>,
    /// The ADCs.
    pub adcs: ChipAdcs,
    /// Resistive lines, with an IR-drop model.
    pub lines: Option<Lines>,
    /// aihwkit's empirical IR drop: (strength, wire-to-device conductance ratio).
    pub aihwkit_drop: Option<(f64, f64)>,
    /// Weight noise at every read ([`crate::read_noise`]).
    pub forward_noise: f64,
}

/// Programs `weights` (each array's cell levels) onto `chip`: of an array in
/// `read`, the cells its mask holds ([`read_mask`]); of the others, every cell.
pub fn program<'w>(
    chip: &Chip,
    cells: &HashMap<String, ArrayCells>,
    read: &HashMap<String, Vec<bool>>,
    weights: impl Fn(&str) -> Option<&'w Array2<f64>>,
) -> Result<Programmed, InterpError> {
    let root = DeviceRng::new(chip.seed);
    let mut names: Vec<&String> = cells.keys().collect();
    names.sort_by_key(|name| cells[*name].index);
    let (mut arrays, mut at_programming) = (HashMap::new(), HashMap::new());
    for name in names {
        let ArrayCells {
            bits, index, pair, ..
        } = cells[name];
        let Some(bits) = bits else {
            return Err(InterpError::Chip(format!(
                "full fidelity programs bit-sliced arrays (cell = #cim.cell<bits>), but @{name} has analog cells: run the mapped program (quantized), not the exact one"
            )));
        };
        let block =
            weights(name).ok_or_else(|| InterpError::Chip(format!("no weights for @{name}")))?;
        let mask = read.get(name);
        let levels: Vec<f64> = match mask {
            None => block.iter().copied().collect(),
            Some(mask) => block
                .iter()
                .zip(mask)
                .filter_map(|(&level, &read)| read.then_some(level))
                .collect(),
        };
        let max_level = ((1u64 << bits.clamp(1, 52)) - 1) as f64;
        let rng = root.fork(index as u64);
        let readout = if pair {
            chip.devices
                .program_pairs(&levels, max_level, chip.time, &rng)
        } else {
            chip.devices
                .program_cells(&levels, max_level, chip.time, &rng)
        }
        .map_err(InterpError::Chip)?;
        // The cells programmed, in place; the others hold 0.
        let shaped = |levels: Vec<f64>| {
            let cells = match mask {
                None => levels.into_iter().map(|level| level as f32).collect(),
                Some(mask) => {
                    let mut levels = levels.into_iter();
                    mask.iter()
                        .map(|&read| match read {
                            true => levels.next().unwrap_or(0.0) as f32,
                            false => 0.0,
                        })
                        .collect()
                }
            };
            Array2::from_shape_vec(block.raw_dim(), cells)
                .map_err(|error| InterpError::Unsupported(error.to_string()))
        };
        arrays.insert(name.clone(), shaped(readout.now)?);
        at_programming.insert(name.clone(), shaped(readout.programmed)?);
    }
    let mut columns = HashMap::new();
    if chip.adc.has_column_errors() {
        for (name, cells) in cells {
            let mut rng = root.fork(u64::MAX - 1 - cells.index as u64);
            let width = arrays[name].ncols();
            let drawn = (0..width).map(|_| chip.adc.column(&mut rng)).collect();
            columns.insert(name.clone(), drawn);
        }
    }
    Ok(Programmed {
        arrays,
        at_programming,
        adcs: ChipAdcs {
            model: chip.adc.clone(),
            columns,
            stream: root.fork(u64::MAX),
            conversions: std::cell::Cell::new(0),
            vectors: std::cell::Cell::new(0),
        },
        aihwkit_drop: (chip.wires.ir_drop == IrDropModel::Aihwkit)
            .then_some((chip.wires.drop_scale, chip.wires.g_ratio)),
        forward_noise: chip.devices.forward_noise,
        lines: matches!(
            chip.wires.ir_drop,
            IrDropModel::Approximate | IrDropModel::Exact
        )
        .then(|| Lines {
            wires: chip.wires.clone(),
            g_min: chip.devices.g_min,
            g_max: chip.devices.g_max,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cim_device::devices::Technology;

    fn block(row: usize, col: usize, rows: usize, cols: usize) -> ReadBlock {
        ReadBlock {
            row,
            col,
            rows,
            cols,
        }
    }

    #[test]
    fn the_mask_holds_the_blocks_read_and_nothing_when_they_cover_the_array() {
        // Two layers packed on the diagonal of a 3x4 array.
        let mask = read_mask((3, 4), &[block(0, 0, 2, 3), block(2, 3, 1, 1)]);
        let cells = |rows: [[u8; 4]; 3]| rows.iter().flatten().map(|&c| c == 1).collect();
        assert_eq!(
            mask,
            Some(cells([[1, 1, 1, 0], [1, 1, 1, 0], [0, 0, 0, 1]]))
        );
        assert_eq!(read_mask((3, 4), &[block(0, 0, 3, 4)]), None, "all read");
        assert_eq!(
            read_mask((2, 2), &[block(0, 0, 2, 1), block(0, 1, 2, usize::MAX)]),
            None,
            "blocks clipped to the array"
        );
        assert_eq!(
            read_mask((1, 2), &[]),
            Some(vec![false, false]),
            "an array no MVM reads"
        );
    }

    #[test]
    fn gaps_hold_zero_and_do_not_move_the_cells_read() {
        let devices = Devices {
            technology: Technology::Pcm,
            ..Devices::default()
        };
        let wires = Wires::default();
        let chip = Chip {
            devices: &devices,
            time: 3600.0,
            seed: 3,
            adc: AdcModel::default(),
            wires: &wires,
        };
        let cells = HashMap::from([(
            "a".to_owned(),
            ArrayCells {
                bits: Some(4),
                index: 0,
                word_lines: 4,
                pair: true,
            },
        )]);
        let mask = read_mask((4, 4), &[block(0, 0, 2, 2), block(2, 2, 2, 2)]);
        let read = HashMap::from([("a".to_owned(), mask.unwrap())]);
        let levels = |gap: f64| {
            Array2::from_shape_fn((4, 4), |(r, c)| {
                if (r < 2) == (c < 2) {
                    (r * 4 + c) as f64 - 7.0
                } else {
                    gap
                }
            })
        };
        let (quiet, busy) = (levels(0.0), levels(15.0));
        let programmed = |weights: &Array2<f64>| {
            program(&chip, &cells, &read, |_| Some(weights))
                .map(|chip| chip.arrays["a"].clone())
                .unwrap()
        };
        let (quiet, busy) = (programmed(&quiet), programmed(&busy));
        assert_eq!(quiet, busy, "what the gaps would hold changes nothing");
        for ((r, c), &level) in quiet.indexed_iter() {
            if (r < 2) != (c < 2) {
                assert_eq!(level, 0.0, "gap cell ({r}, {c})");
            } else {
                assert_ne!(level, 0.0, "read cell ({r}, {c}) is programmed");
            }
        }
    }
}
