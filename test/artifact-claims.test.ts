/**
 * ARTIFACT.md: the AE appendix has its sections, its prose carries no
 * measured number, and its claims table is what the recorded run gives now
 * (so data landing without `make artifact` fails here, not in review).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { BEGIN, claimsMarkdown, claimsSection, END, replaceSection } from "../src/artifact/claims";
import { MlaArgumentError } from "../src/errors";
import { keyNumbers } from "../src/report/report";
import { loadRun } from "../src/sweep/aggregate";
import { makeSyntheticRun } from "./figures-fixture";

const ROOT = path.join(__dirname, "..", "..");
const DOC = fs.readFileSync(path.join(ROOT, "ARTIFACT.md"), "utf8");

describe("artifact: ARTIFACT.md and its claims table", function () {
  this.timeout(120000);

  it("has the sections and check-list items of an AE appendix", () => {
    for (const h of ["Abstract", "Artifact check-list", "Description", "Hardware dependencies", "Software dependencies", "Installation", "Experiment workflow", "Evaluation and expected results", "Notes"]) {
      assert.match(DOC, new RegExp(`^##+ (A\\.[0-9.]+ )?${h}`, "m"), `section ${h}`);
    }
    for (const item of ["Algorithm", "Program", "Compilation", "Binary", "Data set", "Run-time environment", "Hardware", "Execution", "Metrics", "Output", "Experiments", "disk space", "prepare workflow", "complete experiments", "Publicly available", "Code licenses", "Data licenses"]) {
      assert.ok(new RegExp(`^- \\*\\*[^*]*${item}`, "im").test(DOC), `check-list item ${item}`);
    }
    for (const cmd of ["make test", "make reproduce", "make check-repro", "make figures", "make notebooks"]) assert.ok(DOC.includes(cmd), cmd);
  });

  it("the prose quotes no measured rate or time: numbers live in the generated table", () => {
    const prose = DOC.slice(0, DOC.indexOf(BEGIN));
    const hit = /\b\d[\d.,]*\s*(GB\/s|TFLOP\/s|TFLOPS|µs|us per)/.exec(prose);
    assert.strictEqual(hit, null, `a typed number in ARTIFACT.md: ${hit?.[0]}`);
  });

  it("the claims table equals what the recorded run gives (else: make artifact)", () => {
    const expected = replaceSection(DOC, claimsSection(ROOT));
    assert.ok(expected === DOC, "ARTIFACT.md's claims table is stale: run 'make artifact' and commit");
  });

  it("on a run: every key number and target with its source, paths relative, same text twice", async () => {
    const dir = await makeSyntheticRun();
    try {
      const run = loadRun(dir);
      const md = claimsMarkdown(run, ROOT);
      for (const k of keyNumbers(run)) assert.ok(md.includes(`| \`${k.id}\` |`), k.id);
      assert.match(md, /\| GPU \| NVIDIA H100 80GB HBM3/);
      assert.match(md, /\| package version \| 0\.1\.0 \|/);
      assert.match(md, /\| git commit measured \| 0123456789abcdef \|/);
      assert.match(md, /Performance targets/);
      assert.ok(!md.includes(`| ${dir}`) && !md.includes(` ${dir}/`), "absolute run paths must not leak into the table");
      assert.strictEqual(claimsMarkdown(loadRun(dir), ROOT), md);
      assert.strictEqual(claimsSection(ROOT, dir), md);
    } finally {
      fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    }
  });

  it("replaceSection needs exactly one marker pair; bad arguments name themselves", () => {
    assert.strictEqual(replaceSection(`a\n${BEGIN}\nold\n${END}\nb`, "new"), `a\n${BEGIN}\nnew\n${END}\nb`);
    const bad = (f: () => unknown, arg: string) => assert.throws(f, (e: unknown) => e instanceof MlaArgumentError && e.argument === arg);
    bad(() => replaceSection("no markers", "x"), "doc");
    bad(() => replaceSection(`${BEGIN}${BEGIN}${END}`, "x"), "doc");
    bad(() => claimsMarkdown({} as never, ROOT), "run");
    bad(() => claimsSection(""), "root");
  });
});
