func.func @f() -> tensor<?xbf16> {
  %c = arith.constant dense_resource<blob> : tensor<?xbf16>
  return %c : tensor<?xbf16>
}
{-#
  dialect_resources: {
    builtin: {
      blob: "0x020000000000803F"
    }
  }
#-}
