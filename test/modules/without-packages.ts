/**
 * Run a script in a fresh node (with tsx, so it can import the sources) in
 * which some npm packages cannot be resolved, as if they were not installed:
 * how tests check that a package loaded on demand fails with a clear error
 * instead of a hang or a crash at start.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

/** A module-resolution hook refusing `hidden` the way node refuses a package that is not installed. */
function hidingHook(hidden: string[]): string {
  const code = `
    const hidden = new Set(${JSON.stringify(hidden)});
    export async function resolve(specifier, context, next) {
      if (hidden.has(specifier)) {
        const err = new Error("Cannot find package '" + specifier + "' (hidden by the test)");
        err.code = 'ERR_MODULE_NOT_FOUND';
        throw err;
      }
      return next(specifier, context);
    }`;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(
    `data:text/javascript,${encodeURIComponent(code)}`
  )});`;
  return `data:text/javascript,${encodeURIComponent(register)}`;
}

export interface ScriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run the ES module `script` (imports relative to the repository root) with
 * `hidden` unresolvable. Rejects if it has not exited after `timeoutMs`
 * (a hang is a failure, with what it printed).
 */
export function runWithoutPackages(
  hidden: string[],
  script: string,
  timeoutMs = 20_000
): Promise<ScriptResult> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', hidingHook(hidden), '--input-type=module', '-e', script],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`script still running after ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`));
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}
