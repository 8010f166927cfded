/**
 * CITATION.cff is valid CFF 1.2.0 (the keys, types and patterns of the
 * schema that this file uses), its version is package.json's, and so is the
 * version every run.json records; LICENSE is the MIT text with our line.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { bibtexFromCff, parseCffSubset } from "../src/artifact/citation";
import { MlaArgumentError } from "../src/errors";
import { listRuns } from "../src/sweep/aggregate";
import { packageVersion, readSidecar } from "../src/sweep/provenance";

const ROOT = path.join(__dirname, "..", "..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string; license: string };
const cffText = fs.readFileSync(path.join(ROOT, "CITATION.cff"), "utf8");

// Top-level properties of the CFF 1.2.0 schema (additionalProperties: false there).
const CFF_KEYS = ["abstract", "authors", "cff-version", "commit", "contact", "date-released", "doi", "identifiers", "keywords", "license", "license-url", "message", "preferred-citation", "references", "repository", "repository-artifact", "repository-code", "title", "type", "url", "version"];
const ENTITY_KEYS = ["address", "alias", "city", "country", "date-end", "date-start", "email", "fax", "location", "name", "orcid", "post-code", "region", "tel", "website"];
const PERSON_KEYS = ["address", "affiliation", "alias", "city", "country", "email", "family-names", "fax", "given-names", "name-particle", "name-suffix", "orcid", "post-code", "region", "tel", "website"];

function yaml(): { load: (s: string, o?: object) => unknown; JSON_SCHEMA: object } {
  // js-yaml comes with mocha (a dev dependency); its JSON schema keeps dates as strings, as CFF validators must.
  return require("js-yaml");
}

describe("artifact: citation, license, version", () => {
  const cff = yaml().load(cffText, { schema: yaml().JSON_SCHEMA }) as Record<string, unknown>;

  it("CITATION.cff has the required CFF 1.2.0 keys and no key outside the schema", () => {
    for (const k of ["cff-version", "message", "title", "authors"]) assert.ok(cff[k] !== undefined, `missing ${k}`);
    for (const k of Object.keys(cff)) assert.ok(CFF_KEYS.includes(k), `${k} is not a CFF 1.2.0 key`);
    assert.strictEqual(cff["cff-version"], "1.2.0");
    assert.strictEqual(cff.type, "software");
    assert.match(String(cff["date-released"]), /^[0-9]{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])$/);
    assert.ok(typeof cff.title === "string" && cff.title.length > 0);
    assert.ok(typeof cff.message === "string" && cff.message.length > 0);
    assert.ok(Array.isArray(cff.authors) && cff.authors.length > 0);
    for (const a of cff.authors as Record<string, unknown>[]) {
      const entity = a.name !== undefined;
      for (const k of Object.keys(a)) assert.ok((entity ? ENTITY_KEYS : PERSON_KEYS).includes(k), `author key ${k}`);
      assert.ok(entity ? typeof a.name === "string" && a.name.length > 0 : typeof a["family-names"] === "string", "an author needs a name (entity) or family-names (person)");
    }
    assert.ok(Array.isArray(cff.keywords) && (cff.keywords as unknown[]).every((k) => typeof k === "string"));
  });

  it("CITATION.cff's version and license are package.json's", () => {
    assert.strictEqual(String(cff.version), pkg.version);
    assert.strictEqual(cff.license, pkg.license);
    assert.strictEqual(packageVersion(ROOT), pkg.version, "run.json's packageVersion comes from package.json");
  });

  it("every recorded run.json names the package version it was measured with", () => {
    for (const dir of listRuns(path.join(ROOT, "data", "runs"))) {
      const p = readSidecar(dir);
      assert.ok(p, `${dir} has no run.json`);
      assert.match(String(p.packageVersion), /^\d+\.\d+\.\d+/, `${dir}/run.json packageVersion`);
    }
  });

  it("the subset parser agrees with a YAML parser, and the BibTeX carries title, year and version", () => {
    const sub = parseCffSubset(cffText);
    for (const k of ["title", "version", "date-released", "license", "message", "cff-version", "type"]) assert.strictEqual(sub.scalars[k], String(cff[k]), k);
    assert.deepStrictEqual(sub.authors.map((a) => a.name), (cff.authors as { name: string }[]).map((a) => a.name));
    const bib = bibtexFromCff(sub);
    assert.match(bib, /^@software\{mla_hopper_decode_2026,\n/);
    assert.ok(bib.includes(`version = {${pkg.version}}`));
    assert.ok(bib.includes("author  = {{The mla-hopper-decode authors}}"));
    assert.match(bibtexFromCff(sub, true), /^@misc\{/);
    assert.throws(() => bibtexFromCff(sub, false, "bad key"), (e: unknown) => e instanceof MlaArgumentError && e.argument === "key");
    const person = parseCffSubset('cff-version: 1.2.0\nauthors:\n  - family-names: "van Rossum"\n    given-names: Guido\ntitle: t\nversion: 1.0.0\ndate-released: 2020-01-02\n');
    assert.deepStrictEqual(person.authors, [{ name: "van Rossum, Guido", entity: false }]);
    assert.throws(() => parseCffSubset("title t\n"), (e: unknown) => e instanceof MlaArgumentError && e.argument === "text (line 1)");
    assert.throws(() => bibtexFromCff({ scalars: { title: "t", version: "1", "date-released": "2020-1-2" }, authors: [{ name: "a", entity: true }] }), (e: unknown) => e instanceof MlaArgumentError && /date-released/.test(e.argument));
  });

  it("a BibTeX entry in README.md, when there is one, carries package.json's version", () => {
    const readme = path.join(ROOT, "README.md");
    if (!fs.existsSync(readme)) return;
    const text = fs.readFileSync(readme, "utf8");
    const m = /@(software|misc)\{mla_hopper_decode[^]*?\n\}/.exec(text);
    if (!m) return;
    assert.match(m[0], new RegExp(`version\\s*=\\s*\\{${pkg.version.replace(/\./g, "\\.")}\\}`), "README's BibTeX version differs from package.json: paste `node dist/src/artifact/citation.js bibtex`");
  });

  it("LICENSE is the MIT license with the project's copyright line", () => {
    const text = fs.readFileSync(path.join(ROOT, "LICENSE"), "utf8");
    assert.match(text, /^MIT License\n\nCopyright \(c\) 2026 The mla-hopper-decode authors\n/);
    assert.ok(text.includes('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND'));
  });
});
