// Upstream-only: arith.constant of a dense_resource with a dynamic tensor type
// verifies; one-shot-bufferize turns it into a memref.global of memref<?xf32>,
// which the verifier rejects (without --verify-each a later pass crashes).
//   mlir-opt fuzz/crashes/55f7ac40a3da/upstream-only.mlir --one-shot-bufferize=bufferize-function-boundaries
func.func @f() -> tensor<?xf32> {
  %c = arith.constant dense_resource<blob> : tensor<?xf32>
  return %c : tensor<?xf32>
}
{-#
  dialect_resources: {
    builtin: {
      blob: "0x040000000000803F0000803F"
    }
  }
#-}
