//! The one list of cim passes. A new pass adds its file and one line here.

use crate::pass::PassDef;

/// Every cim pass, in the order `--list-passes` shows them.
pub static PASSES: &[&PassDef] = &[
    &crate::verify::PASS,
    &crate::convert_linalg_to_cim::PASS,
    &crate::tile::PASS,
    &crate::map::PASS,
    &crate::adapters::PASS,
    &crate::split_weights::PASS,
    &crate::bitslice::PASS,
    &crate::place::PASS,
    &crate::dce::PASS,
];

/// Finds a pass by its command-line name.
pub fn lookup(name: &str) -> Option<&'static PassDef> {
    PASSES.iter().copied().find(|def| def.name == name)
}
