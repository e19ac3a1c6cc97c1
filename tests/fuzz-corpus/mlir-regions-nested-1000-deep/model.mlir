// A small perceptron (6 -> 5 -> 3) at the graph level: the two weight-stationary
// matmuls are analog (cim.matmul with constant weights), bias and ReLU are digital
// (tosa). The README's first command tiles it onto 4x4 arrays:
//
//   cim-opt tests/examples/mlp.mlir --pass-pipeline='builtin.module(cim-tile{rows=4 cols=4},"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
"test.region"() ({
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
}) : () -> ()
func.func(tosa-to-linalg,tosa-to-arith),canonicalize,cse)'

func.func @mlp(%x: tensor<?x6xf32>) -> tensor<?x3xf32> {
  %w1 = arith.constant dense<[[0.5, -0.25, 0.0, 1.0, 0.25], [0.25, 0.5, -0.5, 0.0, -0.75], [-1.0, 0.0, 0.25, 0.5, 0.5], [0.0, 0.75, 0.5, -0.25, 0.0], [0.25, 0.0, -0.75, 0.5, 1.0], [0.0, -0.5, 0.25, 0.25, -0.25]]> : tensor<6x5xf32>
  %b1 = "tosa.const"() {values = dense<[[0.1, -0.1, 0.0, 0.2, -0.2]]> : tensor<1x5xf32>} : () -> tensor<1x5xf32>
  %w2 = arith.constant dense<[[0.5, 0.0, 0.25], [0.0, 0.75, 0.0], [0.25, 0.0, -0.5], [0.0, 0.5, 1.0], [-0.25, 0.25, 0.0]]> : tensor<5x3xf32>
  %h = "cim.matmul"(%x, %w1) : (tensor<?x6xf32>, tensor<6x5xf32>) -> tensor<?x5xf32>
  %hb = tosa.add %h, %b1 : (tensor<?x5xf32>, tensor<1x5xf32>) -> tensor<?x5xf32>
  %r = tosa.clamp %hb {min_val = 0.0 : f32, max_val = 3.4028235e+38 : f32} : (tensor<?x5xf32>) -> tensor<?x5xf32>
  %y = "cim.matmul"(%r, %w2) : (tensor<?x5xf32>, tensor<5x3xf32>) -> tensor<?x3xf32>
  return %y : tensor<?x3xf32>
}
