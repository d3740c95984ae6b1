/**
 * Run a command on a real pseudo-terminal (util-linux `script`) and answer its
 * prompts, for programs that read a password from their terminal (su, sudo,
 * ssh). PAM's prompt flushes pending terminal input, so each answer is sent
 * only after its prompt has been seen.
 */
import { spawn } from 'node:child_process';

/** A prompt to wait for and the line to type after it. */
export interface PtyAnswer {
  prompt: RegExp;
  reply: string;
}

/** What the command printed (terminal output, prompts included) and how it ended. */
export interface PtyResult {
  output: string;
  code: number | null;
}

/**
 * Run `command` (a shell command line) on a new pty, typing each answer after
 * its prompt, in order. Rejects after `timeoutMs`.
 * @example await onPty('su -c id alice', [{ prompt: /Password:/, reply: 'secret' }])
 */
export function onPty(
  command: string,
  answers: readonly PtyAnswer[] = [],
  opts: { wrap?: readonly string[]; timeoutMs?: number } = {}
): Promise<PtyResult> {
  return new Promise((resolve, reject) => {
    // -q: no banner, -e: exit code of the command, -f: flush, -c: the command; /dev/null: no typescript file.
    const argv = [...(opts.wrap ?? []), 'script', '-qefc', command, '/dev/null'];
    const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let next = 0;
    let seenUpTo = 0;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pty command timed out: ${command}\n${output}`));
    }, opts.timeoutMs ?? 20_000);
    const onData = (d: Buffer) => {
      output += d.toString('utf8');
      while (next < answers.length) {
        const rest = output.slice(seenUpTo);
        const m = answers[next].prompt.exec(rest);
        if (!m) break;
        seenUpTo += m.index + m[0].length;
        child.stdin.write(answers[next].reply + '\n');
        next++;
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ output, code });
    });
  });
}
