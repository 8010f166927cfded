/**
 * node dist/src/artifact/manifest.js write [--root DIR] [--out MANIFEST.sha256]
 * node dist/src/artifact/manifest.js check [--root DIR] [--manifest MANIFEST.sha256] [--committed]
 *
 * A SHA-256 manifest of every file under data/ and figures/: one
 * `<sha256>  <path>` line per file (the format of `sha256sum`, so
 * `sha256sum -c MANIFEST.sha256` checks it too), paths relative to the
 * repository root with "/" separators, sorted by their UTF-8 bytes (what
 * `LC_ALL=C sort` gives). Nothing is excluded: a file that is on disk but
 * not in the manifest is reported, like one that changed or went missing.
 *
 * Raw bytes are hashed: line endings and file modes are not normalised, so a
 * CSV re-saved with CRLF endings counts as changed (it is no longer the file
 * that was measured). A symbolic link is hashed as its target text, which is
 * what git stores for it, so a working tree and a commit agree.
 *
 * `check` reads the working tree; `check --committed` reads the blobs of git
 * HEAD instead (the manifest too), which is what the mocha test does: it
 * catches a result file committed without its manifest line, and is not
 * upset by `make figures` redrawing figures/ in the working tree.
 * Exit status: 0 every file matches; 1 a mismatch; 2 bad arguments.
 */
import { createHash } from "crypto";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { MlaArgumentError } from "../errors";
import { parseCli, runCli } from "../cli-entry";

/** The folders the manifest covers, relative to the repository root. */
export const MANIFEST_DIRS = ["data", "figures"] as const;
/** Where the manifest lives, relative to the repository root (outside the folders it covers, so it never lists itself). */
export const MANIFEST_FILE = "MANIFEST.sha256";

export interface ManifestEntry {
  path: string;
  sha256: string;
}

export interface ManifestDiff {
  /** listed, not found */
  missing: string[];
  /** listed, found with other bytes */
  changed: { path: string; expected: string; actual: string }[];
  /** found, not listed */
  extra: string[];
  /** listed and identical */
  matched: number;
}

export function sha256Hex(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array)) throw new MlaArgumentError("sha256Hex", "bytes", "a Uint8Array or Buffer", bytes);
  return createHash("sha256").update(bytes).digest("hex");
}

/** UTF-8 byte order: JS string comparison is UTF-16 order, which differs from `LC_ALL=C sort` outside the BMP. */
export function compareBytewise(a: string, b: string): number {
  if (typeof a !== "string") throw new MlaArgumentError("compareBytewise", "a", "a string", a);
  if (typeof b !== "string") throw new MlaArgumentError("compareBytewise", "b", "a string", b);
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

function checkRelPath(fn: string, name: string, p: unknown): string {
  // A path with a newline, a backslash or a ".." segment cannot round-trip through the line format or could escape the root.
  if (typeof p !== "string" || p === "" || /[\r\n\\]/.test(p) || p.startsWith("/") || p.split("/").some((s) => s === "" || s === "." || s === "..")) {
    throw new MlaArgumentError(fn, name, "a relative path with '/' separators, no '..', no newline or backslash", p);
  }
  return p;
}

/** Every file under the given folders of `root` (regular files and links; folders recursed), sorted bytewise. */
export function listFiles(root: string, dirs: readonly string[] = MANIFEST_DIRS): string[] {
  const fn = "listFiles";
  if (typeof root !== "string" || root === "" || !fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new MlaArgumentError(fn, "root", "an existing folder", root);
  if (!Array.isArray(dirs) || dirs.length === 0) throw new MlaArgumentError(fn, "dirs", "a non-empty array of folder names", dirs);
  const out: string[] = [];
  const walk = (rel: string): void => {
    const abs = path.join(root, rel);
    for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else if (e.isFile() || e.isSymbolicLink()) out.push(checkRelPath(fn, "root", r));
      // A socket or FIFO under data/ is not data: say so instead of skipping it.
      else throw new MlaArgumentError(fn, "root", `a tree of regular files (${r} is neither a file, a link nor a folder)`, root);
    }
  };
  for (const d of dirs) {
    checkRelPath(fn, "dirs", d);
    if (fs.existsSync(path.join(root, d))) walk(d);
  }
  return out.sort(compareBytewise);
}

/** The bytes the manifest hashes for one path: file contents, or a link's target text (as git stores it). */
export function fileBytes(root: string, rel: string): Buffer {
  if (typeof root !== "string" || root === "") throw new MlaArgumentError("fileBytes", "root", "a folder path", root);
  checkRelPath("fileBytes", "rel", rel);
  const abs = path.join(root, rel);
  const st = fs.lstatSync(abs);
  return st.isSymbolicLink() ? Buffer.from(fs.readlinkSync(abs), "utf8") : fs.readFileSync(abs);
}

export function buildManifest(root: string, dirs: readonly string[] = MANIFEST_DIRS): ManifestEntry[] {
  return listFiles(root, dirs).map((p) => ({ path: p, sha256: sha256Hex(fileBytes(root, p)) }));
}

export function formatManifest(entries: ManifestEntry[]): string {
  if (!Array.isArray(entries)) throw new MlaArgumentError("formatManifest", "entries", "an array of {path, sha256}", entries);
  const sorted = [...entries].sort((a, b) => compareBytewise(a.path, b.path));
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i];
    if (typeof e !== "object" || e === null || typeof e.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(e.sha256)) throw new MlaArgumentError("formatManifest", `entries[${i}].sha256`, "64 lowercase hex digits", e?.sha256);
    checkRelPath("formatManifest", `entries[${i}].path`, e.path);
    if (i > 0 && sorted[i - 1].path === e.path) throw new MlaArgumentError("formatManifest", "entries", "unique paths", e.path);
  }
  return sorted.map((e) => `${e.sha256}  ${e.path}\n`).join("");
}

/** Parses `<sha256>  <path>` lines (sha256sum's text mode; its binary-mode `*path` too). Rejects anything else. */
export function parseManifest(text: string): ManifestEntry[] {
  if (typeof text !== "string") throw new MlaArgumentError("parseManifest", "text", "a string", text);
  const out: ManifestEntry[] = [];
  const seen = new Set<string>();
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  lines.forEach((raw, i) => {
    // CRLF tolerated in the manifest itself (an editor may add it); the files it lists are hashed raw.
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m) throw new MlaArgumentError("parseManifest", `text (line ${i + 1})`, "'<64 hex digits>  <path>'", line);
    const p = checkRelPath("parseManifest", `text (line ${i + 1})`, m[2]);
    if (seen.has(p)) throw new MlaArgumentError("parseManifest", `text (line ${i + 1})`, "a path listed once", p);
    seen.add(p);
    out.push({ path: p, sha256: m[1] });
  });
  return out;
}

/** Compares a manifest with what was found (`actual`: path -> sha256). */
export function diffManifest(expected: ManifestEntry[], actual: Map<string, string>): ManifestDiff {
  if (!Array.isArray(expected)) throw new MlaArgumentError("diffManifest", "expected", "an array of ManifestEntry", expected);
  if (!(actual instanceof Map)) throw new MlaArgumentError("diffManifest", "actual", "a Map of path to sha256", actual);
  const d: ManifestDiff = { missing: [], changed: [], extra: [], matched: 0 };
  const listed = new Set<string>();
  for (const e of expected) {
    listed.add(e.path);
    const got = actual.get(e.path);
    if (got === undefined) d.missing.push(e.path);
    else if (got !== e.sha256) d.changed.push({ path: e.path, expected: e.sha256, actual: got });
    else d.matched++;
  }
  d.extra = [...actual.keys()].filter((p) => !listed.has(p)).sort(compareBytewise);
  return d;
}

export function diffIsClean(d: ManifestDiff): boolean {
  if (typeof d !== "object" || d === null || !Array.isArray(d.missing)) throw new MlaArgumentError("diffIsClean", "d", "a ManifestDiff", d);
  return d.missing.length === 0 && d.changed.length === 0 && d.extra.length === 0;
}

/** Checks the working tree under `root` against the manifest file. */
export function checkTree(root: string, manifestFile = path.join(root, MANIFEST_FILE), dirs: readonly string[] = MANIFEST_DIRS): ManifestDiff {
  if (typeof manifestFile !== "string" || !fs.existsSync(manifestFile)) throw new MlaArgumentError("checkTree", "manifestFile", "an existing manifest file (make manifest writes it)", manifestFile);
  const expected = parseManifest(fs.readFileSync(manifestFile, "utf8"));
  const actual = new Map(buildManifest(root, dirs).map((e) => [e.path, e.sha256]));
  return diffManifest(expected, actual);
}

function git(root: string, args: string[], input?: Buffer): Buffer {
  return execFileSync("git", args, { cwd: root, input, maxBuffer: 1 << 30, stdio: ["pipe", "pipe", "pipe"] });
}

/** True when `root` is the top of a git checkout with at least one commit. */
export function isGitCheckout(root: string): boolean {
  if (typeof root !== "string" || root === "") throw new MlaArgumentError("isGitCheckout", "root", "a folder path", root);
  try {
    const top = git(root, ["rev-parse", "--show-toplevel"]).toString("utf8").trim();
    git(root, ["rev-parse", "--verify", "HEAD"]);
    return path.resolve(top) === fs.realpathSync(root);
  } catch {
    return false;
  }
}

/**
 * The committed bytes (git `rev`, default HEAD) of the manifest and of every
 * file under `dirs`, checked against each other. Blobs are read with one
 * `git cat-file --batch`, so the test costs one process, not one per file.
 */
export function checkCommitted(root: string, rev = "HEAD", dirs: readonly string[] = MANIFEST_DIRS): ManifestDiff {
  const fn = "checkCommitted";
  if (!isGitCheckout(root)) throw new MlaArgumentError(fn, "root", "the top folder of a git checkout with a commit", root);
  if (typeof rev !== "string" || !/^[\w./~^@-]+$/.test(rev)) throw new MlaArgumentError(fn, "rev", "a git revision", rev);
  if (!Array.isArray(dirs) || dirs.length === 0) throw new MlaArgumentError(fn, "dirs", "a non-empty array of folder names", dirs);
  let manifestText: string;
  try {
    manifestText = git(root, ["show", `${rev}:${MANIFEST_FILE}`]).toString("utf8");
  } catch {
    throw new MlaArgumentError(fn, "rev", `a commit that contains ${MANIFEST_FILE} (make manifest, then commit it)`, rev);
  }
  const tree = git(root, ["ls-tree", "-r", "-z", "--full-tree", rev, "--", ...dirs.map((d) => checkRelPath(fn, "dirs", d))]).toString("utf8");
  const blobs: { path: string; oid: string }[] = [];
  for (const rec of tree.split("\0").filter(Boolean)) {
    const m = /^(\d+) (\w+) ([0-9a-f]+)\t(.*)$/s.exec(rec);
    if (!m) throw new Error(`${fn}: unexpected git ls-tree line ${JSON.stringify(rec)}`);
    // A submodule (commit entry) has no bytes here: report it rather than pretend it matched.
    if (m[2] !== "blob") throw new MlaArgumentError(fn, "dirs", `folders of plain files (${m[4]} is a ${m[2]})`, dirs);
    blobs.push({ path: m[4], oid: m[3] });
  }
  const actual = new Map<string, string>();
  if (blobs.length) {
    const out = git(root, ["cat-file", "--batch"], Buffer.from(blobs.map((b) => `${b.oid}\n`).join(""), "utf8"));
    let off = 0;
    for (const b of blobs) {
      const nl = out.indexOf(0x0a, off);
      const header = out.subarray(off, nl).toString("utf8").split(" ");
      const size = Number(header[2]);
      if (header[0] !== b.oid || header[1] !== "blob" || !Number.isInteger(size)) throw new Error(`${fn}: git cat-file answered ${JSON.stringify(header.join(" "))} for ${b.path}`);
      actual.set(b.path, sha256Hex(out.subarray(nl + 1, nl + 1 + size)));
      off = nl + 1 + size + 1;
    }
  }
  return diffManifest(parseManifest(manifestText), actual);
}

/** Human-readable lines for a diff; empty when clean. */
export function describeDiff(d: ManifestDiff, where: string): string[] {
  if (typeof where !== "string") throw new MlaArgumentError("describeDiff", "where", "a string", where);
  if (diffIsClean(d)) return [];
  const L: string[] = [];
  for (const c of d.changed) L.push(`CHANGED  ${c.path} (${where}: ${c.actual.slice(0, 12)}…, manifest: ${c.expected.slice(0, 12)}…)`);
  for (const p of d.missing) L.push(`MISSING  ${p} (in the manifest, not in ${where})`);
  for (const p of d.extra) L.push(`UNLISTED ${p} (in ${where}, not in the manifest)`);
  return L;
}

const USAGE = "usage: node dist/src/artifact/manifest.js write [--root DIR] [--out FILE] | check [--root DIR] [--manifest FILE | --committed [--rev REV]]";

function main(argv: string[]): number {
  const cli = parseCli(argv, {
    usage: USAGE,
    commands: { write: { root: "string", out: "string" }, check: { root: "string", manifest: "string", committed: "boolean", rev: "string" } },
  });
  const cmd = cli.command;
  if (cli.has("rev") && !cli.bool("committed")) cli.fail("--rev goes with --committed");
  if (cli.has("manifest") && cli.bool("committed")) cli.fail("--manifest and --committed exclude each other (--committed reads the manifest of the commit)");
  const flags = { root: cli.str("root"), out: cli.str("out"), manifest: cli.str("manifest"), rev: cli.str("rev"), committed: cli.bool("committed") };
  if (flags.root !== undefined && !fs.existsSync(flags.root)) throw new Error(`--root ${flags.root}: no such folder`);
  const root = path.resolve(flags.root ?? path.join(__dirname, "..", "..", ".."));
  if (cmd === "write") {
    const out = flags.out ?? path.join(root, MANIFEST_FILE);
    const entries = buildManifest(root);
    fs.writeFileSync(out, formatManifest(entries));
    process.stderr.write(`wrote ${out}: ${entries.length} files under ${MANIFEST_DIRS.join("/, ")}/\n`);
    return 0;
  }
  if (cmd === "check") {
    const committed = flags.committed;
    const where = committed ? `git ${flags.rev ?? "HEAD"}` : "the working tree";
    const d = committed ? checkCommitted(root, flags.rev ?? "HEAD") : checkTree(root, flags.manifest ?? path.join(root, MANIFEST_FILE));
    const lines = describeDiff(d, where);
    if (lines.length === 0) {
      process.stdout.write(`manifest OK: ${d.matched} files in ${where} match ${MANIFEST_FILE}\n`);
      return 0;
    }
    process.stdout.write(lines.join("\n") + "\n");
    process.stdout.write(
      `manifest MISMATCH in ${where}: ${d.changed.length} changed, ${d.missing.length} missing, ${d.extra.length} unlisted (${d.matched} match).\n` +
        `If the change is intended (new data, redrawn figures): make manifest, then commit ${MANIFEST_FILE} with the files.\n`,
    );
    return 1;
  }
  return cli.fail(`unknown command '${cmd}'`);
}

if (require.main === module) runCli(main, { prefix: "manifest", errorStatus: 2 });
