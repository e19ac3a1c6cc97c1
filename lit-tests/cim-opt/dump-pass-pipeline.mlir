// --dump-pass-pipeline prints the pipeline that runs, anchored and with every pass's
// option text, whichever way it was given.
// RUN: cim-opt %s --cim-tile="rows=64 cols=32" -cse --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s
// RUN: cim-opt %s --pass-pipeline=' func.func( cse ) , cim-verify ' --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=TEXT

// CHECK: builtin.module(cim-tile{rows=64 cols=32},cse)
// TEXT: builtin.module(func.func(cse),cim-verify)
func.func @f() {
  return
}
