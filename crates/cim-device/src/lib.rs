#![warn(missing_docs)]
//! Device and circuit models of analog crossbars, without MLIR: what the runtime's
//! device-accurate fidelity samples, each effect on its own.
//!
//! * [`rng`]: the seeded generator every random effect draws from (same seed, same
//!   bits, on every platform);
//! * [`pcm`]: phase-change memory as IBM's aihwkit models it
//!   (`PCMLikeNoiseModel`): state-dependent programming noise, drift with a
//!   per-device exponent, accumulated 1/f read noise;
//! * [`hermes`]: the phase-change memory of IBM's HERMES chip (aihwkit's
//!   `HermesNoiseModel`), the same effects with that chip's fits;
//! * [`rram`]: resistive RAM as aihwkit's model of the NeuRRAM measurements
//!   (`ReRamWan2022NoiseModel`): target-dependent deviations fitted over two days;
//! * [`adc`]: converter gain and offset spread, noise, S-curve nonlinearity;
//! * [`compensation`]: global and per-column drift compensation;
//! * [`devices`]: a target's devices, and programming an array of them;
//! * [`faults`]: cells stuck at their lowest or highest conductance;
//! * [`irdrop`]: the currents of a crossbar with resistive word and bit lines, by an
//!   exact nodal solve (Kirchhoff's current law at every node) or a fast
//!   first-order approximation.
//!
//! Conductances are in µS and times in seconds unless a function says otherwise.

pub mod adc;
pub mod compensation;
pub mod devices;
pub mod faults;
pub mod hermes;
pub mod irdrop;
pub mod pcm;
pub mod rng;
pub mod rram;

/// Reads a fixed-size list (`[T; N]` in a target file) from exactly `N` values:
/// serde's own array impl leaves extra values unread, which TOML then accepts
/// without a word. Use as `#[serde(deserialize_with = "cim_device::exactly")]`.
pub fn exactly<'de, D, T, const N: usize>(deserializer: D) -> Result<[T; N], D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    use serde::{Deserialize, de::Error};
    let values = Vec::<T>::deserialize(deserializer)?;
    let count = values.len();
    values
        .try_into()
        .map_err(|_| D::Error::invalid_length(count, &format!("a list of {N} values").as_str()))
}
