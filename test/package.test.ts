/**
 * package.json's main, types and exports name files the build writes, and the
 * package loads by its name from outside the repository, as a dependent would
 * load it (a node_modules link to this checkout).
 */
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  name: string;
  main: string;
  types: string;
  exports: Record<string, string | Record<string, string>>;
};

describe("package.json: the package by its name", function () {
  this.timeout(120000);
  let outside: string;
  before(() => {
    outside = fs.mkdtempSync(path.join(os.tmpdir(), "mla-consumer-"));
    fs.mkdirSync(path.join(outside, "node_modules"));
    fs.symlinkSync(ROOT, path.join(outside, "node_modules", PKG.name), "dir");
  });
  after(() => fs.rmSync(outside, { recursive: true, force: true }));

  it("main, types and every exports target are files the build wrote", () => {
    const targets = [PKG.main, PKG.types];
    for (const [key, v] of Object.entries(PKG.exports)) {
      for (const t of typeof v === "string" ? [v] : Object.values(v)) if (!key.includes("*")) targets.push(t);
    }
    for (const t of targets) assert.ok(fs.statSync(path.join(ROOT, t)).isFile(), `${t} (package.json) does not exist: the build writes dist/src/...`);
    const dot = PKG.exports["."] as Record<string, string>;
    assert.strictEqual(path.normalize(dot.default), path.normalize(PKG.main));
    assert.strictEqual(path.normalize(dot.types), path.normalize(PKG.types));
  });

  it("require() and import by name work from a folder outside the repository", () => {
    const cjs = `const m = require(${JSON.stringify(PKG.name)});
      const r = require.resolve(${JSON.stringify(PKG.name)});
      if (typeof m.referenceDecode !== "function" || typeof m.decodeFlops !== "function") throw new Error("exports missing: " + Object.keys(m).slice(0, 5));
      const deep = require(${JSON.stringify(`${PKG.name}/dist/src/figures/render.js`)});
      if (typeof deep.figureHtml !== "function") throw new Error("deep path");
      console.log(r);`;
    const out = execFileSync(process.execPath, ["-e", cjs], { cwd: outside, encoding: "utf8" }).trim();
    assert.strictEqual(fs.realpathSync(out), fs.realpathSync(path.join(ROOT, PKG.main)));
    const esm = spawnSync(process.execPath, ["--input-type=module", "-e", `import m from ${JSON.stringify(PKG.name)}; if (typeof m.checkInt !== "function") process.exit(3);`], { cwd: outside, encoding: "utf8" });
    assert.strictEqual(esm.status, 0, esm.stderr);
  });

  it("TypeScript finds the types by the package name", () => {
    const tsc = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const check = (file: string, text: string) => {
      fs.writeFileSync(path.join(outside, file), text);
      const cfg = { compilerOptions: { strict: true, noEmit: true, module: "node16", moduleResolution: "node16", skipLibCheck: true, types: [] }, files: [file] };
      fs.writeFileSync(path.join(outside, "tsconfig.json"), JSON.stringify(cfg));
      return spawnSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: outside, encoding: "utf8" });
    };
    const r = check("use.ts", `import { checkInt, referenceDecode } from "${PKG.name}";\nexport const n: number = checkInt("f", "n", 3);\nexport const f: typeof referenceDecode = referenceDecode;\n`);
    assert.strictEqual(r.status, 0, r.stdout + r.stderr);
    // ...and a name the package does not export fails, so the check above means something.
    const bad = check("bad.ts", `import { nope } from "${PKG.name}";\nexport default nope;\n`);
    assert.notStrictEqual(bad.status, 0);
    assert.match(bad.stdout, /nope/);
  });
});
