//! Weight noise at every read (aihwkit's `w_noise` with `w_noise_type = PCM_READ`,
//! `cim_device::devices::Devices::forward_noise`): each output of an MVM gets a
//! fresh normal times `forward_noise · sqrt(Σ_j |w_ij| x_j²)`, weights in units of
//! the block's largest, inputs in units of the DAC's full scale.

use cim_device::rng::{DeviceRng, Normals};
use cim_interp::kernels::gemm;
use ndarray::{Array2, ArrayView2};

/// Adds the read noise to `sums` (batch × cols, in levels × driven input) of
/// `driven` (batch × rows, in units of the DAC's full scale) through `block` (rows
/// × cols of levels, `top` the largest); draws from `rng`.
pub fn add(
    sums: &mut Array2<f32>,
    driven: ArrayView2<f32>,
    block: ArrayView2<f32>,
    top: f64,
    noise: f64,
    rng: &mut DeviceRng,
) {
    let squares = driven.mapv(|x| x * x);
    let magnitude = block.mapv(|w| (f64::from(w).abs() / top) as f32);
    let spread = gemm(squares.view(), magnitude.view());
    let mut draws = vec![0.0; spread.len()];
    Normals::new(rng).fill(&mut draws);
    for ((y, &spread), draw) in sums.iter_mut().zip(spread.iter()).zip(draws) {
        *y += (top * noise * f64::from(spread).sqrt() * draw) as f32;
    }
}
