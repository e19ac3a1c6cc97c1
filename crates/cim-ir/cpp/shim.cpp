// The pieces of the MLIR C++ API that the C API lacks. First, parsing a named buffer
// into a module, wrapping several top-level operations in an implicit
// `builtin.module` exactly as mlir-opt does. The buffer name becomes the file name
// of every location, so diagnostics point into the user's file.
#include "mlir-c/IR.h"
#include "mlir/CAPI/IR.h"
#include "mlir/CAPI/Support.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"

extern "C" MlirModule cimParseModuleNamed(MlirContext context, MlirStringRef source,
                                          MlirStringRef name) {
  mlir::ParserConfig config(unwrap(context));
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(unwrap(source), config, unwrap(name));
  return MlirModule{module.release().getOperation()};
}

// Whether diagnostics on an operation get a "see current operation" note; mlir-opt
// turns it off under --verify-diagnostics, so expectations need not mention it.
extern "C" void cimContextSetPrintOpOnDiagnostic(MlirContext context, bool enable) {
  unwrap(context)->printOpOnDiagnostic(enable);
}

// Whether a dense_resource attribute has its blob (an elided or undeclared resource
// has none, and reading it would crash).
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
extern "C" bool cimDenseResourceHasData(MlirAttribute attribute) {
  auto resource = llvm::dyn_cast<mlir::DenseResourceElementsAttr>(unwrap(attribute));
  return resource && resource.getRawHandle().getBlob() != nullptr;
}

// MLIR's register-everything functions, defined here so that MLIR's are not linked.
// melior's `utility` module calls them, and Rust links a crate's code by the object
// file: any melior function sharing one with those callers linked
// RegisterEverything, then every MLIR pass and, through one of them, every LLVM
// backend (AMDGPU, NVPTX, SPIR-V, ...), whose static initialisers ran at every
// start. cim registers the dialects and passes it reads and runs
// (src/context.rs) and never calls these: calling one is a bug, and says so.
#include "mlir-c/RegisterEverything.h"
#include <cstdio>
#include <cstdlib>
[[noreturn]] static void cimNotLinked(const char *function) {
  std::fprintf(stderr, "internal error: %s is not linked into cim (see cim-ir's context.rs)\n",
               function);
  std::abort();
}
extern "C" void mlirRegisterAllDialects(MlirDialectRegistry) {
  cimNotLinked("mlirRegisterAllDialects");
}
extern "C" void mlirRegisterAllLLVMTranslations(MlirContext) {
  cimNotLinked("mlirRegisterAllLLVMTranslations");
}
extern "C" void mlirRegisterAllPasses() { cimNotLinked("mlirRegisterAllPasses"); }
