//! The cim dialect itself: every operation is registered from its IRDL definition,
//! and the typed attribute views (geometry, placement, cells, slices, windows,
//! converters) build and read back the same attributes.

use cim_ir::{
    CimContext,
    attributes::{
        Cell, Converter, DacMode, DialectAttribute, Geometry, Param, Place, Slice, Window,
    },
    dialect::ops,
};
use proptest::prelude::*;

#[test]
fn every_dialect_operation_is_registered_from_irdl() {
    let cim = CimContext::new().expect("context");
    for name in ops::ALL {
        assert!(
            cim.context().is_registered_operation(name),
            "{name} is not registered"
        );
    }
    assert!(!cim.context().is_registered_operation("cim.bogus"));
}

proptest! {
    #[test]
    fn attribute_views_round_trip(rows in 1i64..100_000, cols in 1i64..100_000, chip in 0i64..64, core in 0i64..64,
                                  array in 0i64..1024, bits in 1i64..24, shift in 0i64..62,
                                  lo in -1e3f64..0.0, width in 1e-3f64..1e3, serial: bool) {
        let cim = CimContext::new().unwrap();
        let context = cim.context();
        let geometry = Geometry { rows, cols };
        prop_assert_eq!(Geometry::read(geometry.build(context)), Some(geometry));
        let place = Place { chip, core, array };
        prop_assert_eq!(Place::read(place.build(context)), Some(place));
        let cell = Cell { bits };
        prop_assert_eq!(Cell::read(cell.build(context)), Some(cell));
        let slice = Slice { index: shift / 2, shift };
        prop_assert_eq!(Slice::read(slice.build(context)), Some(slice));
        let window = Window { row: rows, col: cols };
        prop_assert_eq!(Window::read(window.build(context)), Some(window));
        let mode = if serial { DacMode::BitSerial } else { DacMode::MultiLevel };
        for converter in [Converter::Ideal, Converter::Dac { bits, mode, lo, hi: lo + width }, Converter::Adc { bits, lo, hi: lo + width }] {
            prop_assert_eq!(Converter::read(converter.build(context)), Some(converter));
        }
    }
}

#[test]
fn attribute_reader_handles_quotes_and_rejects_other_dialects() {
    let read = DialectAttribute::read_text("#cim.dac<8 : i64, \"a,b\", -1.0 : f64, 2.5e-01 : f64>")
        .unwrap();
    assert_eq!(read.name, "dac");
    assert_eq!(
        read.params,
        [
            Param::Int(8),
            Param::Str("a,b".into()),
            Param::Float(-1.0),
            Param::Float(0.25)
        ]
    );
    assert!(DialectAttribute::read_text("#other.dac<8 : i64>").is_none());
    assert_eq!(
        DialectAttribute::read_text("#cim.ideal").unwrap().params,
        []
    );
}
