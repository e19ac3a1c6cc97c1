"cim.crossbar"() {sym_name = "too_tall", geometry = #cim.geometry<2 : i64, 2 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense_resource<w1> : tensor<3x2xf32>} : () -> ()

{-#
  dialect_resources: {
    builtin: {
      w1: "0x040000000000803F0000004000004040000080400000A0400000C040"
    }
  }
#-}
