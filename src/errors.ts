/**
 * One error type for every argument the library rejects. It names the
 * function, the argument and what was expected, so a caller (or a notebook
 * reader) can fix the call without reading our source.
 */
export class MlaArgumentError extends Error {
  readonly fn: string;
  readonly argument: string;
  readonly expected: string;
  readonly actual: string;

  constructor(fn: string, argument: string, expected: string, actual: unknown) {
    const shown = describe(actual);
    super(`${fn}: argument '${argument}' must be ${expected}, got ${shown}`);
    this.name = "MlaArgumentError";
    this.fn = fn;
    this.argument = argument;
    this.expected = expected;
    this.actual = shown;
  }
}

function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || v === null || v === undefined) return String(v);
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(length ${(v as unknown as { length: number }).length})`;
  if (Array.isArray(v)) return `array(length ${v.length})`;
  return typeof v;
}

/** Throws unless `v` is an integer in [lo, hi]. Returns v for chaining. */
export function checkInt(fn: string, name: string, v: unknown, lo = -Infinity, hi = Infinity): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new MlaArgumentError(fn, name, "an integer", v);
  if (v < lo || v > hi) {
    const range = hi === Infinity ? `>= ${lo}` : lo === -Infinity ? `<= ${hi}` : `in [${lo}, ${hi}]`;
    throw new MlaArgumentError(fn, name, `an integer ${range}`, v);
  }
  return v;
}

/** Throws unless `v` is a finite number (optionally > 0). */
export function checkFinite(fn: string, name: string, v: unknown, positive = false): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new MlaArgumentError(fn, name, "a finite number", v);
  if (positive && !(v > 0)) throw new MlaArgumentError(fn, name, "a finite number > 0", v);
  return v;
}

/** Throws unless `arr` is an instance of `ctor` with exactly `length` elements. */
export function checkArray<T extends { length: number }>(
  fn: string,
  name: string,
  arr: unknown,
  ctor: { new (...a: never[]): T; name: string },
  length: number,
): T {
  if (!(arr instanceof ctor)) throw new MlaArgumentError(fn, name, `a ${ctor.name}`, arr);
  if (arr.length !== length) throw new MlaArgumentError(fn, name, `a ${ctor.name} of length ${length}`, arr);
  return arr;
}
