/**
 * A 65,536-entry lookup from 16-bit pattern to float64, built once per dtype.
 * Widening a whole KV cache element by element is then one load per element,
 * which keeps the reference decoder's time in the arithmetic, not the decode.
 */
import { bf16BitsToF32, fp16BitsToF32, HalfDtype } from "../numeric/half";

const tables: Partial<Record<HalfDtype, Float64Array>> = {};

export function halfToF64Table(dtype: HalfDtype): Float64Array {
  let t = tables[dtype];
  if (!t) {
    t = new Float64Array(65536);
    const conv = dtype === "bf16" ? bf16BitsToF32 : fp16BitsToF32;
    for (let b = 0; b < 65536; b++) t[b] = conv(b);
    tables[dtype] = t;
  }
  return t;
}
