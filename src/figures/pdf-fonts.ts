/**
 * Which fonts a PDF uses and whether each is embedded (what `pdffonts` says,
 * without needing poppler-utils): a venue's PDF check rejects a figure whose
 * fonts the printer would have to substitute. Reads the uncompressed object
 * dictionaries, as Chromium (Skia) writes them; a PDF that keeps its objects
 * in compressed object streams is refused rather than misread.
 */
import { MlaArgumentError } from "../errors";

export interface PdfFont {
  /** object number of the font dictionary */
  object: number;
  baseFont: string;
  /** Type0, Type1, TrueType, CIDFontType0, CIDFontType2, Type3, ... */
  subtype: string;
  /** true when the font's program is in the file (/FontFile, /FontFile2 or /FontFile3 in its descriptor; Type0 through its descendant; Type3 always) */
  embedded: boolean;
}

function objects(text: string): Map<number, string> {
  const out = new Map<number, string>();
  const re = /(\d+)\s+0\s+obj\b([\s\S]*?)\bendobj\b/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const body = m[2];
    const s = body.indexOf("stream");
    out.set(Number(m[1]), s >= 0 ? body.slice(0, s) : body);
  }
  return out;
}

const ref = (dict: string, key: string): number | undefined => {
  const m = new RegExp(`/${key}\\s*(?:\\[\\s*)?(\\d+)\\s+0\\s+R`).exec(dict);
  return m ? Number(m[1]) : undefined;
};

/** Every font dictionary of the PDF with its embedding. */
export function pdfFonts(pdf: Buffer): PdfFont[] {
  if (!Buffer.isBuffer(pdf) || pdf.subarray(0, 5).toString("latin1") !== "%PDF-") throw new MlaArgumentError("pdfFonts", "pdf", "a PDF file's bytes", pdf);
  const text = pdf.toString("latin1");
  if (/\/Type\s*\/ObjStm\b/.test(text)) throw new Error("pdfFonts: the PDF keeps objects in compressed object streams, which this reader does not decode");
  const objs = objects(text);
  const fonts = new Map<number, { baseFont: string; subtype: string; dict: string }>();
  for (const [n, d] of objs) {
    if (!/\/Type\s*\/Font\b/.test(d)) continue;
    fonts.set(n, { baseFont: (/\/BaseFont\s*\/([^\s/<>[\]()]+)/.exec(d) ?? [])[1] ?? "?", subtype: (/\/Subtype\s*\/(\w+)/.exec(d) ?? [])[1] ?? "?", dict: d });
  }
  const hasProgram = (n: number): boolean => {
    const f = fonts.get(n);
    if (!f) return false;
    if (f.subtype === "Type3") return true;
    if (f.subtype === "Type0") {
      const desc = ref(f.dict, "DescendantFonts");
      return desc !== undefined && hasProgram(desc);
    }
    const fd = ref(f.dict, "FontDescriptor");
    return fd !== undefined && /\/FontFile[23]?\s+\d+\s+0\s+R/.test(objs.get(fd) ?? "");
  };
  return [...fonts].map(([n, f]) => ({ object: n, baseFont: f.baseFont, subtype: f.subtype, embedded: hasProgram(n) }));
}
