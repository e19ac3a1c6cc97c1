// The `cim` dialect: analog compute-in-memory operations, defined in IRDL.
//
// cim loads this file when it creates an MLIR context, and upstream tools load the
// same file with `mlir-opt --irdl-file=dialects/cim.irdl.mlir`. IRDL checks operand and
// result counts, the kind of every attribute and its parameters, and the allowed
// strings of enumerations. What IRDL cannot express (a referenced array exists, a
// window fits its array, shapes agree, significances are consistent) is checked by the
// `cim-verify` pass (passes/src/verify.rs), which `cim-opt` runs by default.
//
// A constraint variable (`%x = irdl...`) binds to the first value it matches: every
// further use must be the very same type or attribute. So each parameter that may
// differ has a variable of its own, and operands that must share one type share one.
//
// Pages: dialects/attributes.md, dialects/graph.md, dialects/mapped.md,
// dialects/digital.md.

irdl.dialect @cim {
  // ------------------------------------------------------------------------------
  // Attributes: the analog datapath, typed.
  // ------------------------------------------------------------------------------

  // Physical size of a crossbar array: #cim.geometry<rows, cols>.
  irdl.attribute @geometry {
    %rows = irdl.base "#builtin.integer"
    %cols = irdl.base "#builtin.integer"
    irdl.parameters(rows: %rows, cols: %cols)
  }

  // Where an array sits: #cim.place<chip, core, array>.
  irdl.attribute @place {
    %chip = irdl.base "#builtin.integer"
    %core = irdl.base "#builtin.integer"
    %array = irdl.base "#builtin.integer"
    irdl.parameters(chip: %chip, core: %core, array: %array)
  }

  // An array not yet placed on the target (cim-place assigns #cim.place).
  irdl.attribute @unplaced {
  }

  // Memory cell: bits stored per cell (2^bits conductance levels): #cim.cell<bits>.
  irdl.attribute @cell {
    %bits = irdl.base "#builtin.integer"
    irdl.parameters(bits: %bits)
  }

  // Which bit slice of the weight an array holds and its significance:
  // #cim.slice<index, shift>; the slice contributes value * 2^shift.
  irdl.attribute @slice {
    %index = irdl.base "#builtin.integer"
    %shift = irdl.base "#builtin.integer"
    irdl.parameters(index: %index, shift: %shift)
  }

  // Top-left corner of the block of an array an MVM reads: #cim.window<row, col>.
  irdl.attribute @window {
    %row = irdl.base "#builtin.integer"
    %col = irdl.base "#builtin.integer"
    irdl.parameters(row: %row, col: %col)
  }

  // Input converter: #cim.dac<bits, mode, lo, hi>. `bit_serial` streams the input one
  // bit plane per cycle through 1-bit drivers; `multi_level` drives all bits at once.
  // [lo, hi] is the input range the DAC covers (values outside are clipped).
  irdl.attribute @dac {
    %bits = irdl.base "#builtin.integer"
    %serial = irdl.is "bit_serial"
    %multi = irdl.is "multi_level"
    %mode = irdl.any_of(%serial, %multi)
    %lo = irdl.base "#builtin.float"
    %hi = irdl.base "#builtin.float"
    irdl.parameters(bits: %bits, mode: %mode, lo: %lo, hi: %hi)
  }

  // Output converter: #cim.adc<bits, lo, hi>, the column-current range in weight units.
  irdl.attribute @adc {
    %bits = irdl.base "#builtin.integer"
    %lo = irdl.base "#builtin.float"
    %hi = irdl.base "#builtin.float"
    irdl.parameters(bits: %bits, lo: %lo, hi: %hi)
  }

  // An ADC that converts every bit plane of a bit-serial input on its own, over the
  // per-plane range [lo, hi] (cell-level units: a plane drives each row with 0 or 1):
  // #cim.adc_per_plane<bits, lo, hi>.
  irdl.attribute @adc_per_plane {
    %bits = irdl.base "#builtin.integer"
    %lo = irdl.base "#builtin.float"
    %hi = irdl.base "#builtin.float"
    irdl.parameters(bits: %bits, lo: %lo, hi: %hi)
  }

  // A managed input DAC (aihwkit's noise management and input quantization): each
  // input vector is divided by its scale (its largest |x| for "abs_max", `constant`
  // for "constant", 1 for "none"), rounded to one of 2^bits - 1 levels symmetric
  // about 0 that span [-bound, bound], and clipped there; the MVM's output is
  // multiplied back by the scale: #cim.dac_managed<bits, scaling, constant, bound>.
  irdl.attribute @dac_managed {
    %bits = irdl.base "#builtin.integer"
    %none = irdl.is "none"
    %abs_max = irdl.is "abs_max"
    %constant_scaling = irdl.is "constant"
    %scaling = irdl.any_of(%none, %abs_max, %constant_scaling)
    %constant = irdl.base "#builtin.float"
    %bound = irdl.base "#builtin.float"
    irdl.parameters(bits: %bits, scaling: %scaling, constant: %constant, bound: %bound)
  }

  // A managed output ADC (aihwkit's output quantization and bound management):
  // 2^bits - 1 levels symmetric about 0 that span [-bound, bound], values clipped
  // there; an input vector whose output clips is converted again with its input
  // halved, up to `passes` conversions in all (1: no bound management):
  // #cim.adc_managed<bits, bound, passes>.
  irdl.attribute @adc_managed {
    %bits = irdl.base "#builtin.integer"
    %bound = irdl.base "#builtin.float"
    %passes = irdl.base "#builtin.integer"
    irdl.parameters(bits: %bits, bound: %bound, passes: %passes)
  }

  // Infinite precision: no converter on this side of an MVM, or an analog cell that
  // holds any real value (before bit-slicing): #cim.ideal.
  irdl.attribute @ideal {
  }

  // ------------------------------------------------------------------------------
  // Graph level: weight-stationary analog operators (dialects/graph.md).
  // ------------------------------------------------------------------------------

  // y = x . W with W constant: input tensor<...xK>, weight tensor<KxN>.
  irdl.operation @matmul {
    %input = irdl.base "!builtin.tensor"
    %weight = irdl.base "!builtin.tensor"
    %output = irdl.base "!builtin.tensor"
    irdl.operands(input: %input, weight: %weight)
    irdl.results(output: %output)
  }

  // 2-D convolution, NCHW input, FCHW constant weight, lowered through im2col.
  irdl.operation @conv2d {
    %input = irdl.base "!builtin.tensor"
    %weight = irdl.base "!builtin.tensor"
    %output = irdl.base "!builtin.tensor"
    %strides = irdl.base "#builtin.dense_array"
    %padding = irdl.base "#builtin.dense_array"
    %dilations = irdl.base "#builtin.dense_array"
    %groups = irdl.base "#builtin.integer"
    irdl.attributes {"strides" = %strides, "padding" = %padding,
                     "dilations" = %dilations, "groups" = %groups}
    irdl.operands(input: %input, weight: %weight)
    irdl.results(output: %output)
  }

  // ------------------------------------------------------------------------------
  // Mapped level: arrays and the analog MVMs on them (dialects/mapped.md).
  // ------------------------------------------------------------------------------

  // A physical crossbar array, a module-level symbol holding what is programmed.
  irdl.operation @crossbar {
    %name = irdl.base "#builtin.string"
    %geometry = irdl.base @cim::@geometry
    %placed = irdl.base @cim::@place
    %unplaced = irdl.base @cim::@unplaced
    %place = irdl.any_of(%placed, %unplaced)
    %levels = irdl.base @cim::@cell
    %analog = irdl.base @cim::@ideal
    %cell = irdl.any_of(%levels, %analog)
    %slice = irdl.base @cim::@slice
    %signed = irdl.is "signed"
    %positive = irdl.is "positive"
    %negative = irdl.is "negative"
    %offset = irdl.is "offset"
    %pair = irdl.is "pair"
    %sign = irdl.any_of(%signed, %positive, %negative, %offset, %pair)
    %dense = irdl.base "#builtin.dense_int_or_fp_elements"
    %resource = irdl.base "#builtin.dense_resource_elements"
    %weights = irdl.any_of(%dense, %resource)
    irdl.attributes {"sym_name" = %name, "geometry" = %geometry, "place" = %place,
                     "cell" = %cell, "slice" = %slice, "sign" = %sign,
                     "weights" = %weights}
  }

  // Analog matrix-vector product on a block of an array, through its converters.
  irdl.operation @mvm {
    %input = irdl.base "!builtin.tensor"
    %output = irdl.base "!builtin.tensor"
    %array = irdl.base "#builtin.symbol_ref"
    %window = irdl.base @cim::@window
    %dac_real = irdl.base @cim::@dac
    %dac_managed = irdl.base @cim::@dac_managed
    %dac_ideal = irdl.base @cim::@ideal
    %dac = irdl.any_of(%dac_real, %dac_managed, %dac_ideal)
    %adc_real = irdl.base @cim::@adc
    %adc_planes = irdl.base @cim::@adc_per_plane
    %adc_managed = irdl.base @cim::@adc_managed
    %adc_ideal = irdl.base @cim::@ideal
    %adc = irdl.any_of(%adc_real, %adc_planes, %adc_managed, %adc_ideal)
    irdl.attributes {"array" = %array, "window" = %window, "dac" = %dac, "adc" = %adc}
    irdl.operands(input: %input)
    irdl.results(output: %output)
  }

  // ------------------------------------------------------------------------------
  // Digital glue on the near-memory digital unit (dialects/digital.md).
  // ------------------------------------------------------------------------------

  // Recombines bit slices: y = sum_i x_i * 2^shifts[i].
  irdl.operation @shift_add {
    %slices = irdl.base "!builtin.tensor"
    %output = irdl.base "!builtin.tensor"
    %shifts = irdl.base "#builtin.dense_array"
    irdl.attributes {"shifts" = %shifts}
    irdl.operands(slices: variadic %slices)
    irdl.results(output: %output)
  }

  // Sums the partial products of row tiles: y = sum_i x_i (all of one type).
  irdl.operation @accumulate {
    %partials = irdl.base "!builtin.tensor"
    irdl.operands(partials: variadic %partials)
    irdl.results(output: %partials)
  }

  // Joins column tiles along `dimension`: any number of tiles of one type, then a
  // last tile that may be narrower (the remainder of a tiling). IRDL binds a variadic
  // operand to one type, hence the separate `last`.
  irdl.operation @concat {
    %tiles = irdl.base "!builtin.tensor"
    %last = irdl.base "!builtin.tensor"
    %output = irdl.base "!builtin.tensor"
    %dimension = irdl.base "#builtin.integer"
    irdl.attributes {"dimension" = %dimension}
    irdl.operands(tiles: variadic %tiles, last: %last)
    irdl.results(output: %output)
  }

  // Differential pair: y = positive - negative. A `negative` whose last dimension is
  // 1 is broadcast along it (the reference column of offset encoding).
  irdl.operation @diff {
    %value = irdl.base "!builtin.tensor"
    %negative = irdl.base "!builtin.tensor"
    irdl.operands(positive: %value, negative: %negative)
    irdl.results(output: %value)
  }

  // Per-column affine correction: y[..., j] = scale[j] * x[..., j] + offset[j].
  irdl.operation @affine {
    %value = irdl.base "!builtin.tensor"
    %scale = irdl.base "#builtin.dense_int_or_fp_elements"
    %offset = irdl.base "#builtin.dense_int_or_fp_elements"
    irdl.attributes {"scale" = %scale, "offset" = %offset}
    irdl.operands(input: %value)
    irdl.results(output: %value)
  }

  // Low-rank digital adapter: y = base + (input . down) . up.
  irdl.operation @adapter {
    %input = irdl.base "!builtin.tensor"
    %base = irdl.base "!builtin.tensor"
    %down = irdl.base "#builtin.dense_int_or_fp_elements"
    %up = irdl.base "#builtin.dense_int_or_fp_elements"
    irdl.attributes {"down" = %down, "up" = %up}
    irdl.operands(input: %input, base: %base)
    irdl.results(output: %base)
  }

  // Real to integer: q = clamp(round(x / scale) + zero_point) to `bits` bits.
  irdl.operation @quantize {
    %input = irdl.base "!builtin.tensor"
    %output = irdl.base "!builtin.tensor"
    %scale = irdl.base "#builtin.float"
    %zero_point = irdl.base "#builtin.integer"
    %bits = irdl.base "#builtin.integer"
    irdl.attributes {"scale" = %scale, "zero_point" = %zero_point, "bits" = %bits}
    irdl.operands(input: %input)
    irdl.results(output: %output)
  }

  // Integer to real: x = (q - zero_point) * scale.
  irdl.operation @dequantize {
    %input = irdl.base "!builtin.tensor"
    %output = irdl.base "!builtin.tensor"
    %scale = irdl.base "#builtin.float"
    %zero_point = irdl.base "#builtin.integer"
    irdl.attributes {"scale" = %scale, "zero_point" = %zero_point}
    irdl.operands(input: %input)
    irdl.results(output: %output)
  }
}
