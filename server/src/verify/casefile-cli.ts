/**
 * `casefile verify <package.zip> [--key server-key.pem] [--json]`: checks a
 * forensic package offline and says what it verified. Exit codes: 0 verified
 * against the trusted key; 3 intact but checked only against the package's
 * own key (no --key); 1 not verified; 2 usage or unreadable input.
 */
import { readFileSync } from 'node:fs';
import { readZip, verifyPackage } from './verify-package';

const USAGE = 'usage: casefile verify <package.zip> [--key server-public-key.pem] [--json]';

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd !== 'verify') {
    console.error(USAGE);
    return 2;
  }
  let zipPath: string | undefined;
  let keyPath: string | undefined;
  let json = false;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--key') keyPath = rest[++i];
    else if (rest[i] === '--json') json = true;
    else if (!zipPath && !rest[i].startsWith('--')) zipPath = rest[i];
    else {
      console.error(`casefile: unexpected argument ${rest[i]}\n${USAGE}`);
      return 2;
    }
  }
  if (!zipPath || (rest.includes('--key') && !keyPath)) {
    console.error(USAGE);
    return 2;
  }
  let files;
  let trustedKeyPem;
  try {
    trustedKeyPem = keyPath ? readFileSync(keyPath, 'utf8') : undefined;
    files = await readZip(readFileSync(zipPath));
  } catch (err) {
    console.log(`NOT VERIFIED: ${zipPath}: ${(err as Error).message}`);
    return 1;
  }
  let r;
  try {
    r = verifyPackage(files, { trustedKeyPem });
  } catch (err) {
    console.error(`casefile: ${(err as Error).message}`);
    return 2;
  }
  if (json) console.log(JSON.stringify(r, null, 2));
  else {
    console.log(`Package ${zipPath}`);
    for (const v of r.verified) console.log(`  ok: ${v}`);
    for (const p of r.problems) console.log(`  FAILED: ${p}`);
    console.log(
      !r.ok
        ? `NOT VERIFIED: ${r.problems.length} problem(s); do not rely on this package.`
        : r.trustedKey
          ? 'VERIFIED: signature by the trusted key, every hash, the evidence and the custody chain.'
          : "INTACT, SIGNER NOT CHECKED: consistent and signed by the key it carries; verify again with --key <the server's published key>."
    );
  }
  return !r.ok ? 1 : r.trustedKey ? 0 : 3;
}

process.exitCode = await main(process.argv.slice(2));
