//! The interpreter's errors: an operation it cannot run, an unknown function, the
//! wrong number of inputs, an input of the wrong shape or with a NaN.

use cim_ir::CimContext;

#[test]
fn interpreter_rejects_what_it_cannot_run() {
    use cim_interp::{InterpError, Interpreter};
    let cim = CimContext::new().unwrap();
    let text = "func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {\n  %y = math.exp %x : tensor<2xf32>\n  return %y : tensor<2xf32>\n}\n";
    let module = cim_ir::source::parse_module(cim.context(), text, "t.mlir").unwrap();
    let interpreter = Interpreter::new(&module).unwrap();
    let input = ndarray::ArrayD::zeros(ndarray::IxDyn(&[2]));
    assert_eq!(
        interpreter.run("f", std::slice::from_ref(&input)),
        Err(InterpError::Unsupported("math.exp".into()))
    );
    assert!(matches!(
        interpreter.run("g", std::slice::from_ref(&input)),
        Err(InterpError::NoFunction(_))
    ));
    assert!(matches!(
        interpreter.run("f", &[]),
        Err(InterpError::Arity { .. })
    ));
    let wrong = ndarray::ArrayD::zeros(ndarray::IxDyn(&[3]));
    assert!(matches!(
        interpreter.run("f", &[wrong]),
        Err(InterpError::InputShape { .. })
    ));
    let nan = ndarray::ArrayD::from_elem(ndarray::IxDyn(&[2]), f64::NAN);
    assert!(matches!(
        interpreter.run("f", &[nan]),
        Err(InterpError::InputShape { .. })
    ));
}
