# lit configuration for cim: run with Debian's lit (llvm-22-tools), e.g.
#   lit lit-tests --param cim_bin=target/debug
# `cargo test --test lit` does this with the freshly built tools.
import os

import lit.formats

config.name = "cim"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir"]
config.excludes = ["Inputs"]
config.test_source_root = os.path.dirname(os.path.abspath(__file__))
repo_root = os.path.dirname(config.test_source_root)
config.test_exec_root = lit_config.params.get(
    "exec_root", os.path.join(repo_root, "target", "lit")
)

llvm_bin = lit_config.params.get("llvm_bin", "/usr/lib/llvm-22/bin")
cim_bin = lit_config.params.get("cim_bin", os.path.join(repo_root, "target", "debug"))
for tool in ["cim-opt", "cim-translate"]:
    if not os.path.exists(os.path.join(cim_bin, tool)):
        lit_config.fatal(f"{tool} not found in {cim_bin}: build it (cargo build) or pass --param cim_bin=DIR")
for tool in ["FileCheck", "not", "mlir-opt", "llvm-objdump"]:
    if not os.path.exists(os.path.join(llvm_bin, tool)):
        lit_config.fatal(f"{tool} not found in {llvm_bin}: run tools/install-deps.sh")

config.environment["PATH"] = os.pathsep.join([cim_bin, llvm_bin, config.environment.get("PATH", "")])
config.substitutions.append(("%cim_dialect", os.path.join(repo_root, "dialects", "cim.irdl.mlir")))
