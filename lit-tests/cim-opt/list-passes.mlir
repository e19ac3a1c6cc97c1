// --list-passes names every cim pass with its summary and options.
// RUN: cim-opt --list-passes | FileCheck %s

// CHECK: cim passes
// CHECK: cim-verify Check the cim invariants IRDL cannot express
// CHECK: cim-tile Map each weight-stationary cim.matmul onto crossbar arrays of rows x cols
// CHECK-NEXT: rows=<value> integer 1..=1048576 (default 256): word lines (inputs) per array
// CHECK-NEXT: cols=<value> integer 1..=1048576 (default 256): bit lines (outputs) per array
// CHECK: Upstream MLIR passes are accepted by name as well
