#!/usr/bin/env python3
"""Execute the project's notebooks top to bottom with a real Jupyter kernel (tslab).

Usage: notebook-run.py [--check] [--timeout S] [--start-timeout S] [--html-dir DIR] NOTEBOOK...
       notebook-run.py --export-only --html-dir DIR NOTEBOOK...

Every notebook runs in a fresh kernel whose working directory is the notebook's
folder (tslab compiles cells relative to it); a kernel that does not answer within
--start-timeout seconds is replaced by another, three attempts in all. A run fails, naming the notebook
and the cell, when a cell
  * raises (tslab reports a thrown error or a type error as an error reply),
  * runs longer than --timeout seconds,
  * leaves an `error` output or anything on stderr (an exception thrown from a
    timer or a promise nobody awaited only ever shows up there).
A notebook is written back only when every cell passed, so a failure never
replaces the committed outputs; the failed copy goes to .jupyter-env/failed/.
With --check nothing under notebooks/ is written (this is what `make test` runs).
With --compare the fresh outputs must also match the committed ones, except
images (fonts differ between machines) and cells tagged "nondeterministic"
(timings): the committed outputs are then known to be what the code prints.
Unless --check, each executed notebook is also exported to --html-dir as an
HTML page that works with no network: the template scripts/nbconvert/mla-offline
loads MathJax and plotly.js from the repository's one copy of each (figures/,
written by `make figures`) by relative URLs, and fetches nothing else.
With --export-only nothing is executed: the notebooks are exported as committed
(test/browser-check.test.ts opens those pages in a browser).
"""
import argparse
import contextlib
import os
import sys
import time

try:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
except ImportError as exc:  # pragma: no cover - environment problem, reported plainly
    sys.exit(f"notebook-run.py: {exc}. Install the Debian packages python3-nbclient and jupyter-nbconvert.")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The one copy of each library in the repository (src/figures/render.ts SHARED_FILES),
# which the exported pages load by relative URL, and the template that does so.
SHARED_DIR = os.path.join(REPO, "figures")
PLOTLY_JS = os.path.join(SHARED_DIR, "plotly.min.js")
MATHJAX_JS = os.path.join(SHARED_DIR, "mathjax-tex-svg.js")
TEMPLATE_DIR = os.path.join(REPO, "scripts", "nbconvert")
TEMPLATE = "mla-offline"


class NotebookFailure(Exception):
    nb = None


# Starting a kernel is tried this many times, each waiting --start-timeout s for its first reply.
# tslab 1.0.22 binds its five sockets concurrently; a kernel_info request that lands while
# a socket's bind is still settling makes zeromq throw EBUSY ("Socket is blocked by a bind
# or unbind operation") inside tslab's shell loop, which ends the loop: the process lives
# on but never answers. Rare (one CI run in many), and a fresh kernel does not repeat it.
KERNEL_START_ATTEMPTS = 3


def fmt_duration(s):
    """The sweep's format (src/sweep/runner.ts): 42s, 3m05s, ? when unknown."""
    if s is None or s < 0:
        return "?"
    if s < 60:
        return f"{round(s)}s"
    m = int(s // 60)
    return f"{m}m{round(s - 60 * m):02d}s"


class Progress:
    """Code cells done / total over all notebooks, elapsed and ETA, in the GPU sweep's line format.

    A line when a notebook starts and ends, and after a cell when the last line is
    more than `every` seconds old, so a slow notebook still shows it is alive.
    """

    def __init__(self, total, every=10.0):
        self.total = max(1, total)
        self.done = 0
        self.t0 = time.time()
        self.last = 0.0
        self.every = every

    def line(self, label):
        el = time.time() - self.t0
        eta = el / self.done * (self.total - self.done) if self.done else None
        pct = min(100, 100 * self.done // self.total)
        print(f"[notebooks] {self.done}/{self.total} cells ({pct}%) elapsed {fmt_duration(el)} eta {fmt_duration(eta)}: {label}", flush=True)
        self.last = time.time()

    def cell_done(self, label):
        self.done += 1
        if time.time() - self.last >= self.every:
            self.line(label)


def cell_label(nb_path, index, cell):
    lines = [l.strip() for l in cell.source.strip().splitlines()]
    # The first line that says something: many cells open with a bare "{".
    first = next((l for l in lines if sum(ch.isalnum() for ch in l) >= 3), lines[0] if lines else "<empty>")
    if len(first) > 70:
        first = first[:67] + "..."
    return f"{os.path.relpath(nb_path, REPO)}: cell {index} (0-based, Markdown cells counted; code starting `{first}`)"


def bad_outputs(cell):
    """Messages for outputs that mean something went wrong even if the reply said ok."""
    found = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            found.append(f"error output {out.get('ename')}: {out.get('evalue')}")
        elif out.get("output_type") == "stream" and out.get("name") == "stderr":
            found.append("stderr: " + "".join(out.get("text", "")).strip()[:2000])
    return found


def code_cells(nb):
    return sum(1 for c in nb.cells if c.cell_type == "code")


def execute(nb_path, timeout, start_timeout, kernel_name, progress):
    nb = nbformat.read(nb_path, as_version=4)
    ks = nb.metadata.get("kernelspec", {})
    if ks.get("name") != kernel_name:
        raise NotebookFailure(f"{os.path.relpath(nb_path, REPO)}: kernelspec is {ks.get('name')!r}, expected {kernel_name!r}")
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name,
        resources={"metadata": {"path": os.path.dirname(nb_path)}},
        startup_timeout=start_timeout,  # per attempt: start_kernel
        record_timing=False,  # no wall-clock timestamps in cell metadata: keeps diffs to real changes
        allow_errors=False,
        interrupt_on_timeout=False,
    )
    try:
        run_cells(client, nb, nb_path, timeout, progress)
    except NotebookFailure as exc:
        exc.nb = nb  # the partly executed notebook, for inspection
        raise
    return nb


def start_kernel(client, stack, nb_path):
    """Enter client.setup_kernel() on `stack`, with a fresh kernel for each failed attempt.

    nbclient shuts a kernel down and forgets it when it does not answer in time, so the
    next setup_kernel() starts a new one. After the last attempt: NotebookFailure."""
    rel = os.path.relpath(nb_path, REPO)
    for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
        try:
            stack.enter_context(client.setup_kernel())
            return
        except RuntimeError as exc:  # jupyter_client: "Kernel didn't respond in N seconds", "Kernel died ..."
            if attempt == KERNEL_START_ATTEMPTS:
                raise NotebookFailure(f"{rel}: the {client.kernel_name} kernel did not start: {exc} ({attempt} attempts of {client.startup_timeout} s)")
            print(f"[notebooks] {rel}: the {client.kernel_name} kernel did not start ({exc}); "
                  f"starting a fresh one (attempt {attempt + 1} of {KERNEL_START_ATTEMPTS})", file=sys.stderr, flush=True)


def run_cells(client, nb, nb_path, timeout, progress):
    with contextlib.ExitStack() as stack:
        start_kernel(client, stack, nb_path)
        # What nbclient's own execute() does first: record the kernel's language_info.
        info = client.wait_for_reply(client.kc.kernel_info())
        if info is not None and "language_info" in info["content"]:
            nb.metadata["language_info"] = info["content"]["language_info"]
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            try:
                client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
            except CellTimeoutError:
                raise NotebookFailure(f"{cell_label(nb_path, index, cell)} ran past the {timeout} s per-cell limit")
            except DeadKernelError as exc:
                raise NotebookFailure(f"{cell_label(nb_path, index, cell)}: the kernel died ({exc})")
            except CellExecutionError:
                detail = "\n".join(bad_outputs(cell)) or "(the kernel gave no message)"
                raise NotebookFailure(f"{cell_label(nb_path, index, cell)} raised:\n{detail}")
            problems = bad_outputs(cell)
            if problems:
                raise NotebookFailure(f"{cell_label(nb_path, index, cell)} wrote to stderr or left an error:\n" + "\n".join(problems))
            progress.cell_done(f"{os.path.relpath(nb_path, REPO)} cell {index}")


NONDETERMINISTIC_TAG = "nondeterministic"


def comparable_outputs(cell):
    """A cell's outputs with images reduced to their kind and consecutive streams joined."""
    out = []
    for o in cell.get("outputs", []):
        kind = o.get("output_type")
        if kind == "stream":
            text = o.get("text", "")
            text = "".join(text) if isinstance(text, list) else text
            if out and out[-1][0] == "stream" and out[-1][1] == o.get("name"):
                out[-1] = ("stream", o.get("name"), out[-1][2] + text)
            else:
                out.append(("stream", o.get("name"), text))
        elif kind in ("display_data", "execute_result"):
            data = o.get("data", {})
            items = []
            for mime in sorted(data):
                value = data[mime]
                if not isinstance(value, str):
                    value = "".join(value) if isinstance(value, list) else repr(value)
                items.append((mime, "<image>" if mime.startswith("image/") else value))
            out.append((kind, tuple(items)))
        else:
            out.append((kind,))
    return out


def first_difference(a, b):
    a_lines = "\n".join(repr(x) for x in a).splitlines()
    b_lines = "\n".join(repr(x) for x in b).splitlines()
    for x, y in zip(a_lines, b_lines):
        if x != y:
            return f"committed: {x[:300]}\n    fresh:     {y[:300]}"
    return f"committed has {len(a)} output(s), the fresh run {len(b)}"


def stale_outputs(committed, fresh, nb_path):
    """Messages for code cells whose deterministic outputs differ from the committed notebook."""
    if [c.cell_type for c in committed.cells] != [c.cell_type for c in fresh.cells]:
        return [f"{os.path.relpath(nb_path, REPO)}: cell structure differs from the committed notebook"]
    problems = []
    for index, (old, new) in enumerate(zip(committed.cells, fresh.cells)):
        if new.cell_type != "code" or NONDETERMINISTIC_TAG in new.metadata.get("tags", []):
            continue
        a, b = comparable_outputs(old), comparable_outputs(new)
        if a != b:
            problems.append(f"{cell_label(nb_path, index, new)}: committed outputs are stale\n    {first_difference(a, b)}")
    return problems


def relative_url(target, page_dir):
    """The URL of file `target` from a page in `page_dir` (always '/'-separated)."""
    return os.path.relpath(target, page_dir).replace(os.sep, "/")


def export_html(nb, nb_path, html_dir):
    """Writes html_dir/<name>.html, which loads MathJax and plotly.js from figures/ by relative URL."""
    from nbconvert import HTMLExporter

    for lib in (PLOTLY_JS, MATHJAX_JS):
        if not os.path.isfile(lib):
            raise NotebookFailure(f"{os.path.relpath(lib, REPO)} is missing: the HTML export loads it from there (run `make figures`, which writes it)")
    os.makedirs(html_dir, exist_ok=True)
    exporter = HTMLExporter(template_name=TEMPLATE, extra_template_basedirs=[TEMPLATE_DIR])
    resources = {
        "metadata": {"name": os.path.splitext(os.path.basename(nb_path))[0]},
        "mla_plotly_url": relative_url(PLOTLY_JS, html_dir),
        "mla_mathjax_url": relative_url(MATHJAX_JS, html_dir),
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    out = os.path.join(html_dir, os.path.splitext(os.path.basename(nb_path))[0] + ".html")
    with open(out, "w", encoding="utf-8") as f:
        f.write(body)
    return out


def export_only(paths, html_dir):
    """Exports each notebook as it is (no kernel); exit status 1 if one cannot be read or exported."""
    failed = 0
    for path in paths:
        try:
            nb = nbformat.read(os.path.abspath(path), as_version=4)
            print(f"[notebooks] {path}: HTML {export_html(nb, os.path.abspath(path), html_dir)}", flush=True)
        except Exception as exc:
            failed += 1
            print(f"[notebooks] FAILED {path}: HTML export: {exc}", file=sys.stderr, flush=True)
    if failed:
        sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="+")
    ap.add_argument("--check", action="store_true", help="execute and verify only; write nothing under notebooks/")
    ap.add_argument("--compare", action="store_true", help="with --check: also fail when outputs differ from the committed ones (images and cells tagged nondeterministic excepted)")
    ap.add_argument("--timeout", type=int, default=300, help="per-cell limit, seconds")
    ap.add_argument("--start-timeout", type=int, default=60, help=f"seconds a kernel has to answer its first request; {KERNEL_START_ATTEMPTS} attempts")
    ap.add_argument("--html-dir", default=os.path.join(REPO, "notebooks", "html"))
    ap.add_argument("--kernel", default="tslab")
    ap.add_argument("--export-only", action="store_true", help="export the notebooks as they are to --html-dir; execute nothing")
    args = ap.parse_args()
    if args.export_only:
        if args.check:
            ap.error("--export-only excludes --check and --compare")
        return export_only(args.notebooks, args.html_dir)
    if not args.timeout > 0 or not args.start_timeout > 0:
        ap.error("--timeout and --start-timeout must be positive")
    if args.compare:
        args.check = True  # comparing against the committed outputs means not overwriting them

    for path in args.notebooks:
        if not os.path.isfile(path):
            ap.error(f"{path}: no such notebook")
    committed_nbs = {}
    for path in args.notebooks:
        try:
            committed_nbs[path] = nbformat.read(os.path.abspath(path), as_version=4)
        except Exception as exc:  # not JSON, not a notebook: one line, not a traceback
            sys.exit(f"notebook-run.py: {path}: not a readable notebook ({exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''})")
    progress = Progress(sum(code_cells(nb) for nb in committed_nbs.values()))

    failed_dir = os.path.join(REPO, ".jupyter-env", "failed")
    failures = []
    total = time.time()
    cells_before = 0
    for k, path in enumerate(args.notebooks, 1):
        nb_path = os.path.abspath(path)
        start = time.time()
        rel = os.path.relpath(nb_path, REPO)
        committed = committed_nbs[path]
        # A failed notebook stops early: count its cells as done so the ETA stays about what is left.
        progress.done = cells_before
        cells_before += code_cells(committed)
        progress.line(f"notebook {k}/{len(args.notebooks)} {rel}: executing")
        try:
            nb = execute(nb_path, args.timeout, args.start_timeout, args.kernel, progress)
        except NotebookFailure as exc:
            failures.append(str(exc))
            print(f"[notebooks] FAILED {exc}", file=sys.stderr, flush=True)
            if exc.nb is not None:
                os.makedirs(failed_dir, exist_ok=True)
                copy = os.path.join(failed_dir, os.path.basename(nb_path))
                nbformat.write(exc.nb, copy)
                print(f"[notebooks] the partly executed notebook is in {os.path.relpath(copy, REPO)}", file=sys.stderr)
            continue
        except CellExecutionError as exc:  # raised outside execute_cell, e.g. while starting the kernel
            failures.append(f"{rel}: {exc}")
            print(f"[notebooks] FAILED {rel}: {exc}", file=sys.stderr, flush=True)
            continue
        elapsed = time.time() - start
        if args.check:
            stale = stale_outputs(committed, nb, nb_path) if args.compare else []
            if stale:
                failures.append(stale[0])
                print("[notebooks] FAILED " + "\n".join(stale), file=sys.stderr, flush=True)
                print(f"[notebooks] re-run `make notebooks` and commit {rel} if the new outputs are right", file=sys.stderr, flush=True)
                continue
            how = "outputs match the committed ones" if args.compare else "not written"
            print(f"[notebooks] {rel}: ok in {elapsed:.1f} s (checked, {how})", flush=True)
            continue
        nbformat.validate(nb)
        nbformat.write(nb, nb_path)
        try:
            html = export_html(nb, nb_path, args.html_dir)
        except Exception as exc:  # the notebook ran and was written; only its page is missing
            failures.append(f"{rel}: HTML export failed: {exc}")
            print(f"[notebooks] FAILED {rel}: written, but the HTML export failed: {exc}", file=sys.stderr, flush=True)
            continue
        print(f"[notebooks] {rel}: ok in {elapsed:.1f} s -> written; HTML {os.path.relpath(html, REPO)}", flush=True)
    print(f"[notebooks] total {time.time() - total:.1f} s", flush=True)
    if failures:
        print(f"[notebooks] {len(failures)} notebook(s) failed:", file=sys.stderr)
        for f in failures:
            print("  - " + f.splitlines()[0], file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
