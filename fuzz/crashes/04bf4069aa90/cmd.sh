#!/bin/sh
# from seed test/Inputs/torch-mlir/gemma3-bf16-static.mlir#0, a `dim` mutant: a dense_resource
# constant typed tensor<?xbf16>, which the verifier accepts. Upstream-only: stock mlir-opt's
# one-shot bufferization turns it into a memref.global of a dynamic type, which its verifier rejects
# (qk-opt --qk-norm-pipeline=target=cpu fails the same way in OneShotBufferizePass).
/usr/lib/llvm-22/bin/mlir-opt --one-shot-bufferize=bufferize-function-boundaries fuzz/crashes/04bf4069aa90/upstream-only.mlir
