// cim-translate's mistakes are named: the direction, the output, a missing program.
// RUN: sh -c 'cim-translate %s; echo "exit=$?"' 2>&1 | FileCheck %s --check-prefix=DIRECTION
// RUN: sh -c 'cim-translate %s --to-crossbar-program; echo "exit=$?"' 2>&1 | FileCheck %s --check-prefix=OUTPUT
// RUN: sh -c 'cim-translate %S --from-crossbar-program; echo "exit=$?"' 2>&1 | FileCheck %s --check-prefix=MISSING

// DIRECTION: the following required arguments were not provided
// DIRECTION: exit=2
// OUTPUT: cim-translate: error: --to-crossbar-program writes a directory: give it with -o DIR
// OUTPUT-NEXT: exit=2
// MISSING: cim-translate: error: {{.*}}program.json: {{.*}}is this a directory written by cim-translate --to-crossbar-program?
// MISSING-NEXT: exit=1
func.func @f() {
  return
}
