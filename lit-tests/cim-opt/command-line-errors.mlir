// Command-line mistakes are reported clearly and exit with 2; nothing is printed.
// RUN: sh -c 'cim-opt %s --pass-pipeline="builtin.module(no-such-pass)"; echo "exit=$?"' 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: sh -c 'cim-opt %s --pass-pipeline="builtin.module(cim-verify{rows=3})"; echo "exit=$?"' 2>&1 | FileCheck %s --check-prefix=OPTION
// RUN: sh -c 'cim-opt %s --pass-pipeline="builtin.module(func.func(cse)"; echo "exit=$?"' 2>&1 | FileCheck %s --check-prefix=SYNTAX
// RUN: sh -c 'cim-opt %s --cse --pass-pipeline=cse; echo "exit=$?"' 2>&1 | FileCheck %s --check-prefix=BOTH
// RUN: sh -c 'cim-opt %S/does-not-exist.mlir; echo "exit=$?"' 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: sh -c 'cim-opt %s --no-such-flag; echo "exit=$?"' 2>&1 | FileCheck %s --check-prefix=FLAG
// RUN: sh -c 'cim-opt %s --pass-pipeline="builtin.module(func.func(cim-tile))"; echo "exit=$?"' 2>&1 | FileCheck %s --check-prefix=ANCHOR

// UNKNOWN: cim-opt: error: MLIR rejected 'no-such-pass': {{.*}}'no-such-pass' does not refer to a registered pass
// UNKNOWN-NEXT: exit=2
// OPTION: cim-opt: error: pass 'cim-verify' has no option 'rows' (its options: none)
// OPTION-NEXT: exit=2
// SYNTAX: cim-opt: error: invalid pass pipeline 'builtin.module(func.func(cse)' at column 30: expected ')' to close the nested pipeline
// SYNTAX-NEXT: exit=2
// BOTH: cim-opt: error: give passes either as flags or with --pass-pipeline, not both
// BOTH-NEXT: exit=2
// MISSING: cim-opt: error: cannot read input file '{{.*}}does-not-exist.mlir'
// MISSING-NEXT: exit=2
// FLAG: cim-opt: error: MLIR rejected 'no-such-flag'
// FLAG-NEXT: exit=2
// ANCHOR: cim-opt: error: pass 'cim-tile' runs on builtin.module, but the pipeline nests it under func.func: write it directly inside builtin.module(...)
// ANCHOR-NEXT: exit=2
func.func @f() {
  return
}
