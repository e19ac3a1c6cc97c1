//! Packing and copies: the plan's blocks put into as few arrays as a shelf
//! first-fit finds, arrays shared by packed layers separated again where a layer
//! needs its own, and copies of the slowest layers for a pipelined batch.

use super::plan::{Choice, Piece, Plan, Step};
use std::collections::HashMap;

impl Plan {
    /// Packs the arrays' contents into as few arrays of `geometry` as a shelf
    /// first-fit by decreasing height finds. Blocks keep their shape and get a new
    /// window; MVMs on one array read their own rows and columns only (undriven rows
    /// carry no current), so sharing costs time, not correctness: the latency
    /// objective skips this. With a `cap` (a pipeline's slowest stage, after
    /// copies), an array takes no more blocks than keep its `busy` time (rows times
    /// MVMs per inference) within the cap: packing then never slows the pipeline,
    /// and copies of a layer never share an array.
    pub(super) fn pack(&mut self, geometry: (u64, u64), busy: &[u64], cap: Option<u64>) {
        struct Shelf {
            top: u64,
            height: u64,
            filled: u64,
        }
        let extents: Vec<(u64, u64)> = (0..self.arrays.len()).map(|a| self.extent(a)).collect();
        let mut order: Vec<usize> = (0..extents.len()).collect();
        order.sort_by_key(|&a| (std::cmp::Reverse(extents[a].0), a));
        let mut bins: Vec<Vec<Shelf>> = Vec::new();
        let mut kinds: Vec<Option<Choice>> = Vec::new();
        let mut load: Vec<u64> = Vec::new();
        let mut moved = vec![(0usize, (0u64, 0u64)); extents.len()];
        for array in order {
            let (height, width) = extents[array];
            let mut spot = None;
            'bins: for (index, shelves) in bins.iter_mut().enumerate() {
                if cap.is_some_and(|cap| load[index].saturating_add(busy[array]) > cap)
                    || kinds[index] != self.choice(array)
                {
                    continue;
                }
                for shelf in shelves.iter_mut() {
                    if height <= shelf.height && shelf.filled + width <= geometry.1 {
                        spot = Some((index, (shelf.top, shelf.filled)));
                        shelf.filled += width;
                        break 'bins;
                    }
                }
                let top = shelves.last().map_or(0, |s| s.top + s.height);
                if top + height <= geometry.0 {
                    shelves.push(Shelf {
                        top,
                        height,
                        filled: width,
                    });
                    spot = Some((index, (top, 0)));
                    break;
                }
            }
            moved[array] = spot.unwrap_or_else(|| {
                bins.push(vec![Shelf {
                    top: 0,
                    height,
                    filled: width,
                }]);
                load.push(0);
                kinds.push(self.choice(array));
                (bins.len() - 1, (0, 0))
            });
            load[moved[array].0] += busy[array];
        }
        let mut arrays = vec![Vec::new(); bins.len()];
        for (array, pieces) in std::mem::take(&mut self.arrays).into_iter().enumerate() {
            let (bin, (row, col)) = moved[array];
            arrays[bin].extend(pieces.into_iter().map(|piece| Piece {
                at: (piece.at.0 + row, piece.at.1 + col),
                ..piece
            }));
        }
        self.arrays = arrays;
        for step in self.layers.iter_mut().flatten() {
            step.each_mvm(&mut |array, window| {
                let (bin, (row, col)) = moved[*array];
                *array = bin;
                *window = (window.0 + row, window.1 + col);
            });
        }
    }

    /// Gives every layer that shares an array (packed on a diagonal by the
    /// e-graph) arrays of its own, so that it can be copied; packing comes after.
    pub(super) fn unshare(&mut self) {
        for array in 0..self.arrays.len() {
            let first = self.arrays[array][0].layer;
            let others: Vec<usize> = self.arrays[array]
                .iter()
                .map(|piece| piece.layer)
                .filter(|&layer| layer != first)
                .collect();
            for layer in others {
                let (moved, kept): (Vec<Piece>, Vec<Piece>) =
                    std::mem::take(&mut self.arrays[array])
                        .into_iter()
                        .partition(|piece| piece.layer == layer);
                self.arrays[array] = kept;
                if moved.is_empty() {
                    continue;
                }
                let corner = moved.iter().fold((u64::MAX, u64::MAX), |(r, c), piece| {
                    (r.min(piece.at.0), c.min(piece.at.1))
                });
                let to = self.arrays.len();
                self.arrays.push(
                    moved
                        .into_iter()
                        .map(|piece| Piece {
                            at: (piece.at.0 - corner.0, piece.at.1 - corner.1),
                            ..piece
                        })
                        .collect(),
                );
                self.layers[layer][0].each_mvm(&mut |index, window| {
                    if *index == array {
                        *index = to;
                        *window = (window.0 - corner.0, window.1 - corner.1);
                    }
                });
            }
        }
    }

    /// Spends up to `budget` extra arrays on copies of the slowest layers, and
    /// returns the slowest layer's time then (the pipeline's stage time). A layer's time is its rows per copy
    /// times the MVMs its busiest array runs per row; while the slowest layer can be
    /// copied within the budget, it gets one more copy. A layer can be copied when
    /// its `rows` are known (static, one reader) and no other layer reads its arrays.
    /// Greedy on the slowest stage, so a copy never makes the pipeline slower.
    pub(super) fn duplicate(&mut self, rows: &[Option<u64>], mut budget: u64) -> u64 {
        self.unshare();
        let layers = self.layers.len();
        let mut readers: Vec<Vec<usize>> = vec![Vec::new(); self.arrays.len()];
        for (layer, steps) in self.layers.iter().enumerate() {
            for array in steps[0].arrays() {
                if !readers[array].contains(&layer) {
                    readers[array].push(layer);
                }
            }
        }
        let busiest: Vec<u64> = (0..layers)
            .map(|layer| {
                let arrays = self.layers[layer][0].arrays();
                arrays
                    .iter()
                    .map(|a| arrays.iter().filter(|b| *b == a).count() as u64)
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut owned: Vec<Vec<usize>> = vec![Vec::new(); layers];
        for (array, users) in readers.iter().enumerate() {
            if let [only] = users.as_slice() {
                owned[*only].push(array);
            }
        }
        let copyable = |layer: usize| {
            rows[layer].is_some()
                && readers
                    .iter()
                    .all(|users| !users.contains(&layer) || users.len() == 1)
        };
        let mut copies = vec![1u64; layers];
        let time = |copies: &[u64], layer: usize| {
            rows[layer].unwrap_or(1).div_ceil(copies[layer]) * busiest[layer]
        };
        let slowest =
            |copies: &[u64]| (0..layers).max_by_key(|&l| (time(copies, l), std::cmp::Reverse(l)));
        while let Some(layer) = slowest(&copies) {
            let cost = owned[layer].len() as u64;
            if !copyable(layer) || cost > budget || copies[layer] >= rows[layer].unwrap_or(1) {
                break;
            }
            copies[layer] += 1;
            budget -= cost;
        }
        for (layer, &count) in copies.iter().enumerate() {
            for _ in 1..count {
                let mut moved = HashMap::new();
                for &array in &owned[layer] {
                    moved.insert(array, self.arrays.len());
                    self.arrays.push(self.arrays[array].clone());
                }
                let mut copy = self.layers[layer][0].clone();
                copy.each_mvm(&mut |array, _| *array = moved[array]);
                self.layers[layer].push(copy);
            }
        }
        slowest(&copies).map_or(0, |layer| time(&copies, layer))
    }

    /// Each array's time per inference: the MVMs on it, times the rows each reads
    /// (a copy's share; 1 when the rows are not known).
    pub(super) fn busy(&self, rows: &[Option<u64>]) -> Vec<u64> {
        let mut busy = vec![0u64; self.arrays.len()];
        for (layer, copies) in self.layers.iter().enumerate() {
            let share = rows[layer].unwrap_or(1).div_ceil(copies.len() as u64);
            for array in copies.iter().flat_map(Step::arrays) {
                busy[array] = busy[array].saturating_add(share);
            }
        }
        busy
    }
}
