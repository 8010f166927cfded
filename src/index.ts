/** The library the notebooks, tests and benchmarks import (compiled to dist/src/index.js). */
export * from "./errors";
export * from "./numeric/half";
export * from "./numeric/rng";
export * from "./mla/config";
export * from "./mla/attention";
export * from "./mla/model";
export * from "./mla/kv-bytes";
export * from "./mla/decode";
export * from "./mla/split-kv";
export * from "./mla/random-problem";
export * from "./paged/cache";
export * from "./roofline/accounting";
export * from "./sched/plan";
export * from "./mla/compare";
