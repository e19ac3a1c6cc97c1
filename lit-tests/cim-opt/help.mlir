// --help documents the flags, the pass flags and the exit status; a bad flag value
// is a usage error (exit 2).
// RUN: cim-opt --help | FileCheck %s
// RUN: sh -c 'cim-opt --verify-each=maybe; echo "exit=$?"' 2>&1 | FileCheck %s --check-prefix=BAD

// CHECK: Usage: cim-opt [OPTIONS] [INPUT]
// CHECK: --pass-pipeline <PASS_PIPELINE>
// CHECK: --split-input-file
// CHECK: --verify-diagnostics
// CHECK: --mlir-print-ir-after-all
// CHECK: --mlir-elide-elementsattrs-if-larger <N>
// CHECK: Every cim pass is also a flag
// CHECK: Exit status: 0 success; 1 the input failed
// BAD: invalid value 'maybe' for '--verify-each <BOOL>'
// BAD: exit=2
