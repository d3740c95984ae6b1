/** The signing key: generated once in the data dir and kept, or given as a secret; never logged. */
import { test } from 'node:test';
import { equal, match, notEqual, ok, throws } from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, redactedConfig } from '../src/config/config';
import { custodySealer, checkChain, type CustodyDraft } from '../src/custody/custody-entry';
import { loadSigningKey, publicKeyInfo, verifySignature } from '../src/evidence/signing-key';

test('a key generated at first start is kept (0600) and used again after a restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'casefile-key-'));
  const a = loadSigningKey({ dataDir: dir });
  equal(statSync(join(dir, 'signing-key.pem')).mode & 0o777, 0o600);
  const b = loadSigningKey({ dataDir: dir });
  equal(b.info.keyId, a.info.keyId);
  match(a.info.keyId, /^ed25519:[0-9a-f]{64}$/);
  ok(verifySignature(a.info.publicKeyPem, 'x', b.sign('x')));
  ok(!verifySignature(a.info.publicKeyPem, 'y', b.sign('x')));
  notEqual(
    loadSigningKey({ dataDir: mkdtempSync(join(tmpdir(), 'casefile-key-')) }).info.keyId,
    a.info.keyId
  );
});

test('a key given as a secret (PKCS#8 PEM) is used instead; only Ed25519; redacted in the startup log', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const k = loadSigningKey({ dataDir: mkdtempSync(join(tmpdir(), 'casefile-key-')), signingKeyPem: pem });
  equal(k.info.keyId, publicKeyInfo(publicKey).keyId);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  });
  throws(() => loadSigningKey({ dataDir: '/nonexistent', signingKeyPem: rsa.toString() }), /must be Ed25519/);
  const c = loadConfig({ env: { CASEFILE_SERVER_SIGNING_KEY: pem } });
  equal(c.signingKey, pem);
  equal(redactedConfig(c).signingKey, '[redacted]');
});

test('a custody chain: sealed entries verify; a changed, dropped or reordered entry does not', () => {
  const key = loadSigningKey({ dataDir: mkdtempSync(join(tmpdir(), 'casefile-key-')) });
  const seal = custodySealer(key);
  const draft = (action: CustodyDraft['action'], i: number): CustodyDraft => ({
    action,
    snapshotId: 's1',
    actor: { token: 't', grafanaUser: null },
    timeNs: String(1_700_000_000_000_000_000n + BigInt(i)),
    contentSha256: 'ab'.repeat(32),
    eventCount: 3,
    title: 'x',
    details: {},
    server: { version: '0', instance: 'test' },
  });
  const chain = ['pin', 'lock', 'export', 'delete'].reduce<ReturnType<typeof seal>[]>((out, a, i) => {
    const prev = out[out.length - 1];
    out.push(
      seal(draft(a as CustodyDraft['action'], i), {
        seq: i + 1,
        prevHash: prev?.hash ?? null,
        snapshotPrevHash: prev?.hash ?? null,
      })
    );
    return out;
  }, []);
  const pem = key.info.publicKeyPem;
  equal(checkChain(chain, pem).length, 0);
  equal(checkChain(chain, pem, { whole: true }).length, 0);
  match(
    checkChain([chain[0], { ...chain[1], eventCount: 4 }, ...chain.slice(2)], pem).join(),
    /hash does not match/
  );
  match(checkChain([chain[0], ...chain.slice(2)], pem).join(), /does not link/);
  match(checkChain([chain[1], chain[0], ...chain.slice(2)], pem).join(), /does not link/);
  const other = loadSigningKey({ dataDir: mkdtempSync(join(tmpdir(), 'casefile-key-')) });
  match(checkChain(chain, other.info.publicKeyPem).join(), /signature is not the signing key's/);
});
