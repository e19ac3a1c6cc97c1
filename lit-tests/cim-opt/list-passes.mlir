// --list-passes names every cim pass with its summary and options.
// RUN: cim-opt --list-passes | FileCheck %s

// CHECK: cim passes
// CHECK: cim-verify Check the cim invariants IRDL cannot express
// CHECK: Every upstream MLIR pass is accepted by name
