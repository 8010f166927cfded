/**
 * node dist/src/artifact/citation.js bibtex | version
 *
 * Reads CITATION.cff (the subset this project writes: top-level `key: value`
 * scalars and a list of `- name:` / `family-names:` + `given-names:` authors)
 * and prints the BibTeX entry the README shows, so the two never disagree on
 * title, year or version. package.json's "version" is the single source of
 * the version: `version` prints both and exits 1 when they differ.
 */
import * as fs from "fs";
import * as path from "path";
import { MlaArgumentError } from "../errors";
import { packageVersion, projectRoot } from "../sweep/provenance";
import { parseCli, runCli } from "../cli-entry";

export interface CffSubset {
  /** top-level scalar keys, quotes removed */
  scalars: Record<string, string>;
  /** authors: an entity's name, or a person's "Family, Given" (BibTeX's unambiguous order) */
  authors: { name: string; entity: boolean }[];
}

function unquote(v: string): string {
  const t = v.trim();
  if ((t.startsWith('"') && t.endsWith('"')) || (t.startsWith("'") && t.endsWith("'"))) return t.slice(1, -1).replace(/\\"/g, '"');
  return t;
}

/** Parses the CFF subset above; throws on a top-level line it does not understand rather than guessing. */
export function parseCffSubset(text: string): CffSubset {
  if (typeof text !== "string") throw new MlaArgumentError("parseCffSubset", "text", "a string", text);
  const scalars: Record<string, string> = {};
  const authors: CffSubset["authors"] = [];
  let section = "";
  let person: Record<string, string> | undefined;
  const flush = (): void => {
    if (!person) return;
    const family = [person["name-particle"], person["family-names"]].filter(Boolean).join(" ");
    const name = person.name ?? (family ? [family, person["given-names"]].filter(Boolean).join(", ") : "");
    if (!name) throw new MlaArgumentError("parseCffSubset", "text", "authors with a name or family-names", JSON.stringify(person));
    authors.push({ name, entity: person.name !== undefined });
    person = undefined;
  };
  text.split(/\r?\n/).forEach((line, i) => {
    if (/^\s*(#.*)?$/.test(line)) return;
    const top = /^([A-Za-z][\w-]*):\s*(.*)$/.exec(line);
    if (top) {
      if (section === "authors") flush();
      section = top[1];
      if (top[2] !== "") scalars[top[1]] = unquote(top[2]);
      return;
    }
    if (section === "authors") {
      const item = /^\s+-\s+([\w-]+):\s*(.*)$/.exec(line);
      const cont = /^\s+([\w-]+):\s*(.*)$/.exec(line);
      if (item) {
        flush();
        person = { [item[1]]: unquote(item[2]) };
        return;
      }
      if (cont && person) {
        person[cont[1]] = unquote(cont[2]);
        return;
      }
    }
    // Lines under other lists (keywords) are not needed for the citation; only their shape is checked.
    if (section !== "" && section !== "authors" && /^\s+(-\s+)?\S/.test(line)) return;
    throw new MlaArgumentError("parseCffSubset", `text (line ${i + 1})`, "a line of the CITATION.cff subset this project uses", line);
  });
  if (section === "authors") flush();
  return { scalars, authors };
}

function bibEscape(s: string): string {
  return s.replace(/\\/g, "\\textbackslash{}").replace(/([&%$#_{}])/g, "\\$1");
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/**
 * A biblatex @software entry (with `misc`, the classic-BibTeX @misc
 * equivalent) from the CFF. `key` defaults to the npm package name: a key
 * derived from the title would change whenever the title is reworded.
 */
export function bibtexFromCff(cff: CffSubset, misc = false, key = "mla_hopper_decode"): string {
  const fn = "bibtexFromCff";
  if (typeof cff !== "object" || cff === null || typeof cff.scalars !== "object" || !Array.isArray(cff.authors)) throw new MlaArgumentError(fn, "cff", "a CffSubset (parseCffSubset)", cff);
  if (typeof misc !== "boolean") throw new MlaArgumentError(fn, "misc", "a boolean", misc);
  if (typeof key !== "string" || !/^[A-Za-z][\w-]*$/.test(key)) throw new MlaArgumentError(fn, "key", "a BibTeX key (letters, digits, _ and -)", key);
  const s = cff.scalars;
  for (const k of ["title", "version", "date-released"]) if (!s[k]) throw new MlaArgumentError(fn, `cff.scalars["${k}"]`, "a non-empty value", s[k]);
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s["date-released"]);
  if (!date) throw new MlaArgumentError(fn, 'cff.scalars["date-released"]', "a YYYY-MM-DD date", s["date-released"]);
  if (cff.authors.length === 0) throw new MlaArgumentError(fn, "cff.authors", "at least one author", cff.authors);
  // An entity in braces: BibTeX would otherwise split "The mla-hopper-decode authors" into a first and a last name.
  const author = cff.authors.map((a) => (a.entity ? `{${bibEscape(a.name)}}` : bibEscape(a.name))).join(" and ");
  const fields: [string, string][] = [
    ["author", `{${author}}`],
    // Double braces keep the title's capitals (NVIDIA, Hopper, MLA) in styles that lower-case titles.
    ["title", `{{${bibEscape(s.title)}}}`],
    ["year", `{${date[1]}}`],
    ["month", MONTHS[Number(date[2]) - 1]],
    ["version", `{${bibEscape(s.version)}}`],
  ];
  if (s.license) fields.push(misc ? ["note", `{Version ${bibEscape(s.version)}, ${bibEscape(s.license)} license}`] : ["license", `{${bibEscape(s.license)}}`]);
  if (s["repository-code"]) fields.push(["url", `{${s["repository-code"]}}`]);
  if (s.doi) fields.push(["doi", `{${s.doi}}`]);
  const width = Math.max(...fields.map(([k]) => k.length));
  return `@${misc ? "misc" : "software"}{${key}_${date[1]},\n${fields.map(([k, v]) => `  ${k.padEnd(width)} = ${v}`).join(",\n")}\n}\n`;
}

const USAGE = "usage: node dist/src/artifact/citation.js bibtex [--misc] | version";

function main(argv: string[]): number {
  const cli = parseCli(argv, { usage: USAGE, commands: { bibtex: { misc: "boolean" }, version: {} } });
  const root = projectRoot();
  const cff = parseCffSubset(fs.readFileSync(path.join(root, "CITATION.cff"), "utf8"));
  if (cli.command === "bibtex") {
    const name = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).name;
    process.stdout.write(bibtexFromCff(cff, cli.bool("misc"), String(name).replace(/[^A-Za-z0-9]+/g, "_")));
    return 0;
  }
  const pkg = packageVersion(root);
  process.stdout.write(`package.json ${pkg}, CITATION.cff ${cff.scalars.version}\n`);
  return pkg === cff.scalars.version ? 0 : 1;
}

if (require.main === module) runCli(main, { prefix: "citation", errorStatus: 2 });
