//! The pass library: pass options (defaults, validation, printing back), pipeline
//! text (nesting, error columns, upstream pass names checked against MLIR) and the
//! registry of cim passes.

use cim_ir::CimContext;
use cim_passes::{
    options::{OptionKind, OptionSpec, OptionValue, PassOptions},
    pipeline::{Element, Pipeline, PipelineError},
    registry,
};
use proptest::prelude::*;

const SPECS: &[OptionSpec] = &[
    OptionSpec {
        name: "rows",
        kind: OptionKind::Int { min: 1, max: 4096 },
        default: "256",
        doc: "rows",
    },
    OptionSpec {
        name: "gain",
        kind: OptionKind::Float,
        default: "1.5",
        doc: "gain",
    },
    OptionSpec {
        name: "exact",
        kind: OptionKind::Bool,
        default: "false",
        doc: "flag",
    },
    OptionSpec {
        name: "encoding",
        kind: OptionKind::Enum(&["differential", "offset"]),
        default: "differential",
        doc: "enum",
    },
];

#[test]
fn options_take_defaults_and_reject_what_does_not_fit() {
    let defaults = PassOptions::parse("p", SPECS, "").expect("defaults");
    assert_eq!(
        (
            defaults.int("rows"),
            defaults.float("gain"),
            defaults.bool("exact")
        ),
        (256, 1.5, false)
    );
    let set = PassOptions::parse("p", SPECS, "rows=128  encoding=offset exact=1").expect("valid");
    assert_eq!(
        (set.int("rows"), set.text("encoding"), set.bool("exact")),
        (128, "offset", true)
    );
    for bad in [
        "rows=0",
        "rows=4097",
        "rows=ten",
        "gain=inf",
        "exact=yes",
        "encoding=plain",
        "cols=3",
        "rows",
    ] {
        assert!(
            PassOptions::parse("p", SPECS, bad).is_err(),
            "{bad} was accepted"
        );
    }
    let message = PassOptions::parse("p", SPECS, "cols=3")
        .unwrap_err()
        .to_string();
    assert!(message.contains("rows, gain, exact, encoding"), "{message}");
}

proptest! {
    #[test]
    fn options_round_trip_through_pipeline_text(rows in 1i64..=4096, gain in -1e6f64..1e6, exact: bool, offset: bool) {
        let text = format!("rows={rows} gain={gain} exact={exact} encoding={}", if offset { "offset" } else { "differential" });
        let parsed = PassOptions::parse("p", SPECS, &text).unwrap();
        let again = PassOptions::parse("p", SPECS, &parsed.to_pipeline_text()).unwrap();
        prop_assert_eq!(&parsed, &again);
        prop_assert_eq!(parsed.float("gain"), gain);
    }
}

#[test]
fn pipelines_parse_nest_and_print_back() {
    let pipeline = Pipeline::parse(
        "builtin.module(func.func(cse, canonicalize{max-iterations=2}), cim-verify)",
    )
    .unwrap();
    assert_eq!(
        pipeline.elements,
        [
            Element::Nested {
                anchor: "func.func".into(),
                body: vec![
                    Element::Pass {
                        name: "cse".into(),
                        options: String::new()
                    },
                    Element::Pass {
                        name: "canonicalize".into(),
                        options: "max-iterations=2".into()
                    },
                ],
            },
            Element::Pass {
                name: "cim-verify".into(),
                options: String::new()
            },
        ]
    );
    assert_eq!(
        pipeline.to_string(),
        "builtin.module(func.func(cse,canonicalize{max-iterations=2}),cim-verify)"
    );
    assert_eq!(Pipeline::parse(&pipeline.to_string()).unwrap(), pipeline);
    assert!(pipeline.elements[0].mentions("canonicalize"));
    assert!(Pipeline::parse("").unwrap().elements.is_empty());
}

#[test]
fn pipeline_errors_say_where() {
    let column = |text: &str| match Pipeline::parse(text) {
        Err(PipelineError::Syntax { column, .. }) => column,
        other => panic!("{text}: {other:?}"),
    };
    assert_eq!(column("cse,,cse"), 5);
    assert_eq!(column("func.func(cse"), 14);
    assert_eq!(column("cse{a=1"), 4);
    assert_eq!(column("cse) extra"), 4);
    assert!(matches!(
        Pipeline::parse("cim-verify{bogus=1}"),
        Err(PipelineError::Options(_))
    ));
}

#[test]
fn upstream_names_are_checked_against_mlir() {
    let cim = CimContext::new().unwrap();
    assert!(
        Pipeline::parse("canonicalize,func.func(cse),cim-verify")
            .unwrap()
            .validate(cim.context())
            .is_ok()
    );
    let error = Pipeline::parse("no-such-pass")
        .unwrap()
        .validate(cim.context())
        .unwrap_err();
    assert!(matches!(error, PipelineError::Unknown { .. }), "{error}");
}

#[test]
fn registry_names_are_unique_and_options_have_valid_defaults() {
    let mut names: Vec<_> = registry::PASSES.iter().map(|def| def.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), registry::PASSES.len());
    for def in registry::PASSES {
        let options = def
            .parse_options("")
            .unwrap_or_else(|e| panic!("{}: bad default: {e}", def.name));
        assert_eq!(
            options.to_pipeline_text().is_empty(),
            def.options.is_empty()
        );
        assert!(registry::lookup(def.name).is_some());
    }
    let _ = OptionValue::Bool(true);
}
