/**
 * Is a static figure legible? Its SVG (as written by src/figures/render.ts)
 * is laid out by headless Chromium, the box of every text element measured,
 * and two defects reported: text boxes that overlap each other (tick labels
 * running into one another, a value label over a tick label) and text that
 * leaves the figure (a value label cut off by the frame). The measuring runs
 * in the browser because only a layout engine knows how wide a string is.
 */
import type { Browser } from "playwright-core";
import { MlaArgumentError } from "../errors";
import { CHROMIUM_ARGS, chromiumAvailable, chromiumPath } from "./render";

export interface TextBox {
  text: string;
  /** the class of the nearest group that says what the text is (xtick, ytick, legendtext, bartext, annotation, ...) */
  role: string;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface SvgLayout {
  width: number;
  height: number;
  boxes: TextBox[];
}

/** Lays out each SVG in Chromium and returns its size and the box of every non-empty text element. */
export async function measureSvgText(svgs: string[]): Promise<SvgLayout[]> {
  if (!Array.isArray(svgs) || svgs.some((s) => typeof s !== "string" || !/<svg[\s>]/.test(s))) throw new MlaArgumentError("measureSvgText", "svgs", "an array of SVG documents", svgs);
  if (!chromiumAvailable()) throw new Error(`measureSvgText needs Chromium: ${chromiumPath()} not found (apt-get install chromium, or set $CHROMIUM)`);
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const pw = require("playwright-core") as typeof import("playwright-core");
  const browser: Browser = await pw.chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const out: SvgLayout[] = [];
    for (const svg of svgs) {
      await page.setContent(`<!DOCTYPE html><html><head><meta charset="utf-8"><style>html,body{margin:0;padding:0}svg{display:block}</style></head><body>${svg}</body></html>`);
      out.push(
        await page.evaluate(() => {
          const root = document.querySelector("svg")!;
          const r0 = root.getBoundingClientRect();
          const roles = ["xtick", "ytick", "legendtext", "annotation-text", "g-xtitle", "g-ytitle", "g-gtitle", "textpoint", "bartext"];
          const boxes = Array.from(root.querySelectorAll("text"))
            .filter((t) => (t.textContent ?? "").trim() !== "" && t.getClientRects().length > 0)
            .map((t) => {
              const b = t.getBoundingClientRect();
              let role = "text";
              for (let e: Element | null = t; e && e !== root; e = e.parentElement) {
                const hit = roles.find((r) => e!.classList.contains(r));
                if (hit) {
                  role = hit;
                  break;
                }
              }
              if (role === "text" && t.classList.contains("bartext")) role = "bartext";
              return { text: (t.textContent ?? "").trim(), role, x0: b.left - r0.left, y0: b.top - r0.top, x1: b.right - r0.left, y1: b.bottom - r0.top };
            });
          return { width: r0.width, height: r0.height, boxes };
        }),
      );
    }
    return out;
  } finally {
    await browser.close();
  }
}

/**
 * Overlapping text boxes (by more than `tolerance` px each way) and text
 * outside the figure, one line each; empty when the layout is clean.
 */
export function layoutProblems(l: SvgLayout, tolerance = 0.5): string[] {
  if (typeof l !== "object" || l === null || !Array.isArray(l.boxes)) throw new MlaArgumentError("layoutProblems", "l", "an SvgLayout", l);
  if (typeof tolerance !== "number" || !(tolerance >= 0)) throw new MlaArgumentError("layoutProblems", "tolerance", "a number >= 0", tolerance);
  const p: string[] = [];
  const name = (b: TextBox) => `${b.role} "${b.text.slice(0, 40)}"`;
  for (const b of l.boxes) {
    if (b.x0 < -tolerance || b.y0 < -tolerance || b.x1 > l.width + tolerance || b.y1 > l.height + tolerance) {
      p.push(`${name(b)} leaves the ${l.width}x${l.height} figure (box ${b.x0.toFixed(1)},${b.y0.toFixed(1)} to ${b.x1.toFixed(1)},${b.y1.toFixed(1)})`);
    }
  }
  for (let i = 0; i < l.boxes.length; i++) {
    for (let j = i + 1; j < l.boxes.length; j++) {
      const a = l.boxes[i];
      const b = l.boxes[j];
      const dx = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
      const dy = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
      if (dx > tolerance && dy > tolerance) p.push(`${name(a)} overlaps ${name(b)} by ${dx.toFixed(1)} x ${dy.toFixed(1)} px`);
    }
  }
  return p;
}
