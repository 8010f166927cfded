import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";

// npm 11 runs no install scripts: these prove the prebuilt native binaries load anyway.
describe("dependencies install and load without install scripts", () => {
  it("koffi loads its prebuilt binary and calls into libc", () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const koffi = require("koffi");
    const libc = koffi.load("libc.so.6");
    const abs = libc.func("int abs(int)");
    assert.equal(abs(-7), 7);
  });
  it("zeromq (tslab's transport) loads its prebuilt binary", () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const zmq = require("zeromq");
    const sock = new zmq.Push();
    assert.equal(typeof sock.bind, "function");
    sock.close();
  });
  it("arquero works with the pinned @uwdata/flechette", () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const aq = require("arquero");
    const t = aq.table({ k: ["a", "a", "b"], v: [1, 3, 5] }).groupby("k").rollup({ m: aq.op.median("v") }).orderby("k");
    assert.deepEqual(t.array("m"), [2, 5]);
    const flechette = JSON.parse(fs.readFileSync(path.join(require.resolve("@uwdata/flechette").split("node_modules")[0], "node_modules/@uwdata/flechette/package.json"), "utf8"));
    assert.equal(flechette.version, "2.6.0");
  });
  it("tslab and the plotly bundle are present", () => {
    assert.ok(fs.existsSync(require.resolve("tslab/package.json")));
    assert.ok(fs.statSync(require.resolve("plotly.js-dist-min")).size > 1e6);
  });
});
