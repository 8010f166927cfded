/**
 * The one way our command-line programs start: main's status becomes the
 * exit code, and a thrown error becomes one line on stderr and `errorStatus`,
 * never a stack trace. An async main ends with process.exit, so a helper
 * process it started (Chromium, a GPU context) cannot keep it alive.
 */
export function runCli(main: (argv: string[]) => number | Promise<number>, o: { prefix: string; errorStatus: number }): void {
  const fail = (e: unknown): number => {
    process.stderr.write(`${o.prefix}: ${(e as Error)?.message ?? String(e)}\n`);
    return o.errorStatus;
  };
  let r: number | Promise<number>;
  try {
    r = main(process.argv.slice(2));
  } catch (e) {
    process.exitCode = fail(e);
    return;
  }
  if (typeof r === "number") {
    process.exitCode = r;
    return;
  }
  r.then(
    (code) => process.exit(code),
    (e) => process.exit(fail(e)),
  );
}
