/**
 * What a test does on the lab host: SSH logins with a key and a password that
 * succeed and fail, an invalid user, too many keys, then sudo (granted, not
 * allowed after a wrong password, three wrong passwords) and su (with a password, a wrong one, from root)
 * on a real terminal, and runuser. Returns what the client side saw, so a test
 * can check the events against it (client ports come from $SSH_CLIENT).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { AuthLab } from './auth-lab';

export interface ScenarioFacts {
  /** Client ports of the logins that succeeded (from $SSH_CLIENT on the server). */
  keyLoginPort: number;
  passwordLoginPort: number;
  terminalLoginPort: number;
  invalidUser: string;
  /** `SHA256:...` of the user's key. */
  userKeyFingerprint: string;
}

const prompt = (reply: string) => ({ prompt: /assword[^:]*: ?/, reply });

function clientPort(out: string, what: string): number {
  const m = /127\.0\.0\.1 (\d+) \d+/.exec(out);
  if (!m) throw new Error(`${what}: no $SSH_CLIENT in the output: ${out}`);
  return Number(m[1]);
}

/** Run every scenario once, in order. */
export async function runScenarios(lab: AuthLab): Promise<ScenarioFacts> {
  const { user, other } = lab;
  const invalidUser = `nosuch${process.pid % 100000}`;
  const ok = lab.sshKey(user.name, [lab.userKey], 'echo $SSH_CLIENT');
  if (ok.code !== 0) throw new Error(`key login failed: ${ok.out}`);
  const strangers = Array.from({ length: 7 }, (_, i) => join(lab.dir, `stranger_${i}`));
  for (const k of strangers) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', k]);
  const expectFail = (r: { code: number; out: string }, what: string) => {
    if (r.code === 0) throw new Error(`${what} logged in: ${r.out}`);
  };
  expectFail(lab.sshKey(user.name, [lab.strangerKey], 'true'), 'a stranger key');
  expectFail(lab.sshKey(invalidUser, [lab.strangerKey], 'true'), 'an invalid user');
  expectFail(lab.sshKey(user.name, strangers, 'true'), 'seven stranger keys');
  const pw = lab.sshPassword(user.name, user.password, 'echo $SSH_CLIENT');
  if (pw.code !== 0) throw new Error(`password login failed: ${pw.out}`);
  expectFail(lab.sshPassword(user.name, 'wrong-password', 'true', 2), 'a wrong password');
  expectFail(lab.sshPassword(invalidUser, 'wrong-password', 'true', 1), 'an invalid user with a password');
  const term = await lab.sshTerminal(
    user.name,
    [
      'sudo -n /usr/bin/id',
      'sudo -k',
      'sudo /usr/bin/whoami',
      'sudo /usr/bin/cat /etc/shadow',
      'sudo /usr/bin/whoami',
      `su -c true ${other.name}`,
      `su -c true ${other.name}`,
      'echo $SSH_CLIENT',
    ].join('; '),
    [
      prompt('wrong-1'),
      prompt('wrong-2'),
      prompt('wrong-3'),
      prompt('wrong-4'),
      prompt(user.password),
      prompt(user.password),
      prompt(other.password),
      prompt('wrong-su'),
    ]
  );
  if (!/3 incorrect password attempts/.test(term.output) || !/Authentication failure/.test(term.output))
    throw new Error(`terminal session did not go as planned:\n${term.output}`);
  await lab.rootTerminal(`su -c true ${user.name}`);
  await lab.rootTerminal(`su - ${other.name} -c true`);
  lab.exec(['runuser', '-u', other.name, '--', 'true']);
  const fp = execFileSync('ssh-keygen', ['-lf', `${lab.userKey}.pub`])
    .toString()
    .split(' ')[1];
  return {
    keyLoginPort: clientPort(ok.out, 'key login'),
    passwordLoginPort: clientPort(pw.out, 'password login'),
    terminalLoginPort: clientPort(term.output, 'terminal login'),
    invalidUser,
    userKeyFingerprint: fp,
  };
}
