/**
 * MANIFEST.sha256: the committed data/ and figures/ match it byte for byte,
 * and a tampered copy (a changed byte, CRLF endings, a deleted or an added
 * file) is caught, by the library and by the CLI.
 */
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  buildManifest,
  checkCommitted,
  checkTree,
  compareBytewise,
  describeDiff,
  diffIsClean,
  formatManifest,
  isGitCheckout,
  MANIFEST_FILE,
  parseManifest,
  sha256Hex,
} from "../src/artifact/manifest";
import { MlaArgumentError } from "../src/errors";

const ROOT = path.join(__dirname, "..", "..");
const CLI = path.join(ROOT, "dist", "src", "artifact", "manifest.js");

function copyListed(to: string): string[] {
  const listed = parseManifest(fs.readFileSync(path.join(ROOT, MANIFEST_FILE), "utf8")).map((e) => e.path);
  for (const p of listed) {
    fs.mkdirSync(path.dirname(path.join(to, p)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, p), path.join(to, p));
  }
  fs.copyFileSync(path.join(ROOT, MANIFEST_FILE), path.join(to, MANIFEST_FILE));
  return listed;
}

describe("artifact: MANIFEST.sha256", function () {
  this.timeout(120000);

  it("the committed data/ and figures/ match the committed manifest", () => {
    // In a git checkout the blobs of HEAD are checked (a redrawn figures/ in the working tree is not a failure);
    // in an unpacked archive without .git, the files on disk.
    const d = isGitCheckout(ROOT) ? checkCommitted(ROOT) : checkTree(ROOT);
    assert.ok(diffIsClean(d), `${describeDiff(d, "the commit").join("\n")}\nIf intended: make manifest, then commit ${MANIFEST_FILE}.`);
    assert.ok(d.matched > 0);
  });

  it("the manifest lists every file under data/ and figures/, sorted bytewise, in sha256sum's format", () => {
    const text = fs.readFileSync(path.join(ROOT, MANIFEST_FILE), "utf8");
    const entries = parseManifest(text);
    assert.strictEqual(formatManifest(entries), text, "not in canonical form: regenerate with make manifest");
    assert.ok(entries.every((e) => e.path.startsWith("data/") || e.path.startsWith("figures/")));
    assert.ok(entries.some((e) => e.path === "data/sweeps/a-flashmla-grid.json"));
  });

  describe("a tampered copy in a temp dir", () => {
    let tmp: string;
    let listed: string[];
    beforeEach(() => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mla-manifest-"));
      listed = copyListed(tmp);
    });
    afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("an untouched copy is clean", () => {
      const d = checkTree(tmp);
      assert.ok(diffIsClean(d), describeDiff(d, tmp).join("\n"));
      assert.strictEqual(d.matched, listed.length);
    });

    it("one changed byte in a result file is caught", () => {
      const victim = listed.find((p) => /results.*\.csv$/.test(p)) ?? listed.find((p) => p.endsWith(".json"))!;
      const buf = fs.readFileSync(path.join(tmp, victim));
      const i = buf.length >> 1;
      buf[i] = buf[i] === 0x31 ? 0x32 : 0x31;
      fs.writeFileSync(path.join(tmp, victim), buf);
      const d = checkTree(tmp);
      assert.deepStrictEqual(d.changed.map((c) => c.path), [victim]);
      const r = spawnSync(process.execPath, [CLI, "check", "--root", tmp], { encoding: "utf8" });
      assert.strictEqual(r.status, 1, r.stderr);
      assert.ok(r.stdout.includes(`CHANGED  ${victim}`), r.stdout);
      assert.match(r.stdout, /make manifest/);
    });

    it("line endings count: the same text with CRLF is a changed file", () => {
      const victim = listed.find((p) => p.endsWith(".json"))!;
      const text = fs.readFileSync(path.join(tmp, victim), "utf8");
      fs.writeFileSync(path.join(tmp, victim), text.replace(/\n/g, "\r\n"));
      assert.deepStrictEqual(checkTree(tmp).changed.map((c) => c.path), [victim]);
    });

    it("a deleted file and an added file are caught", () => {
      fs.rmSync(path.join(tmp, listed[0]));
      fs.writeFileSync(path.join(tmp, "data", "sweeps", "zz-extra.json"), "{}\n");
      const d = checkTree(tmp);
      assert.deepStrictEqual(d.missing, [listed[0]]);
      assert.deepStrictEqual(d.extra, ["data/sweeps/zz-extra.json"]);
      const r = spawnSync(process.execPath, [CLI, "check", "--root", tmp], { encoding: "utf8" });
      assert.strictEqual(r.status, 1);
      assert.match(r.stdout, /MISSING {2}/);
      assert.match(r.stdout, /UNLISTED data\/sweeps\/zz-extra\.json/);
    });

    it("write then check round-trips, and sha256sum -c accepts the file", () => {
      fs.mkdirSync(path.join(tmp, "figures"), { recursive: true });
      fs.writeFileSync(path.join(tmp, "figures", "new.svg"), "<svg/>\n");
      const w = spawnSync(process.execPath, [CLI, "write", "--root", tmp], { encoding: "utf8" });
      assert.strictEqual(w.status, 0, w.stderr);
      const c = spawnSync(process.execPath, [CLI, "check", "--root", tmp], { encoding: "utf8" });
      assert.strictEqual(c.status, 0, c.stdout);
      const which = spawnSync("sh", ["-c", "command -v sha256sum"], { encoding: "utf8" });
      if (which.status === 0) {
        const s = spawnSync("sha256sum", ["--quiet", "-c", MANIFEST_FILE], { cwd: tmp, encoding: "utf8" });
        assert.strictEqual(s.status, 0, s.stdout + s.stderr);
      }
    });
  });

  it("checkCommitted reads the commit, not the working tree, and catches a file committed without its manifest line", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mla-manifest-git-"));
    const git = (...a: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", ...a], { cwd: tmp, stdio: "pipe" });
    try {
      git("init", "-q");
      fs.mkdirSync(path.join(tmp, "data", "runs", "r"), { recursive: true });
      fs.mkdirSync(path.join(tmp, "figures"));
      fs.writeFileSync(path.join(tmp, "data", "runs", "r", "results.csv"), "a,b\n1,2\n");
      fs.writeFileSync(path.join(tmp, "figures", "f.svg"), "<svg/>\n");
      fs.writeFileSync(path.join(tmp, MANIFEST_FILE), formatManifest(buildManifest(tmp)));
      git("add", ".");
      git("commit", "-q", "-m", "data");
      assert.ok(diffIsClean(checkCommitted(tmp)));
      // A redrawn figure in the working tree: the commit is still consistent.
      fs.writeFileSync(path.join(tmp, "figures", "f.svg"), "<svg>redrawn</svg>\n");
      assert.ok(diffIsClean(checkCommitted(tmp)));
      assert.deepStrictEqual(checkTree(tmp).changed.map((c) => c.path), ["figures/f.svg"]);
      // A hand-edited result committed without regenerating the manifest.
      fs.writeFileSync(path.join(tmp, "data", "runs", "r", "results.csv"), "a,b\n1,3\n");
      git("commit", "-q", "-am", "edit");
      assert.deepStrictEqual(checkCommitted(tmp).changed.map((c) => c.path).sort(), ["data/runs/r/results.csv", "figures/f.svg"]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("pure parts: bytewise order, strict parsing, argument errors name the argument", () => {
    assert.ok(compareBytewise("data/Z", "data/a") < 0);
    assert.ok(compareBytewise("data/\u{1F600}", "data/\uFFFD") > 0, "UTF-8 order, not UTF-16");
    assert.strictEqual(sha256Hex(Buffer.from("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const e = [{ path: "figures/b", sha256: "a".repeat(64) }, { path: "data/a", sha256: "b".repeat(64) }];
    assert.strictEqual(formatManifest(e), `${"b".repeat(64)}  data/a\n${"a".repeat(64)}  figures/b\n`);
    assert.deepStrictEqual(parseManifest(formatManifest(e)).map((x) => x.path), ["data/a", "figures/b"]);
    const bad = (f: () => unknown, arg: RegExp) => assert.throws(f, (x: unknown) => x instanceof MlaArgumentError && arg.test(x.argument));
    bad(() => parseManifest("nothex  data/a\n"), /^text \(line 1\)$/);
    bad(() => parseManifest(`${"a".repeat(64)}  ../etc/passwd\n`), /^text \(line 1\)$/);
    bad(() => parseManifest(`${"a".repeat(64)}  data/a\n${"b".repeat(64)}  data/a\n`), /^text \(line 2\)$/);
    bad(() => formatManifest([{ path: "data/a", sha256: "xyz" }]), /^entries\[0\]\.sha256$/);
    bad(() => sha256Hex("text" as never), /^bytes$/);
    bad(() => checkTree(os.tmpdir(), path.join(os.tmpdir(), "no-such-manifest")), /^manifestFile$/);
  });
});
