/**
 * The server's Ed25519 signing key (Node's own crypto). Given as a secret
 * (config `signingKey`, a PKCS#8 PEM) or generated at first start and kept in
 * `<dataDir>/signing-key.pem` (mode 0600). It signs forensic packages'
 * manifests and every custody-log entry; the public key is served by the API
 * (GET /api/v1/signing-key) and carried in each package, and a recipient
 * compares its id with the one the server publishes.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from './canonical';
import { ensureDir } from '../store/data-dir';

/** A public key as packages and the API carry it. */
export interface PublicKeyInfo {
  algorithm: 'Ed25519';
  /** SPKI PEM. */
  publicKeyPem: string;
  /** "ed25519:" + SHA-256 (hex) of the SPKI DER: what to compare with the server's published key. */
  keyId: string;
}

export class SigningKey {
  readonly info: PublicKeyInfo;
  private readonly publicKey: KeyObject;

  constructor(private readonly privateKey: KeyObject) {
    if (privateKey.asymmetricKeyType !== 'ed25519')
      throw new Error(`the signing key must be Ed25519, got ${privateKey.asymmetricKeyType}`);
    this.publicKey = createPublicKey(privateKey);
    this.info = publicKeyInfo(this.publicKey);
  }

  /** Ed25519 signature (base64) of the bytes. */
  sign(data: Buffer | string): string {
    return sign(null, Buffer.from(data), this.privateKey).toString('base64');
  }
}

/** Parsed public keys by PEM (a verifier checks many signatures by one key). */
const parsedKeys = new Map<string, KeyObject>();

/** Key info of a public key (KeyObject or SPKI PEM). */
export function publicKeyInfo(key: KeyObject | string): PublicKeyInfo {
  const k = typeof key === 'string' ? parsedKey(key) : key;
  if (k.asymmetricKeyType !== 'ed25519') throw new Error(`not an Ed25519 key: ${k.asymmetricKeyType}`);
  const der = k.export({ type: 'spki', format: 'der' });
  return {
    algorithm: 'Ed25519',
    publicKeyPem: k.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: `ed25519:${sha256Hex(der)}`,
  };
}

function parsedKey(pem: string): KeyObject {
  let key = parsedKeys.get(pem);
  if (!key) {
    key = createPublicKey(pem);
    if (parsedKeys.size > 100) parsedKeys.clear();
    parsedKeys.set(pem, key);
  }
  return key;
}

/** True when `signature` (base64) is the Ed25519 signature of `data` by `publicKeyPem`. */
export function verifySignature(publicKeyPem: string, data: Buffer | string, signature: string): boolean {
  try {
    return verify(null, Buffer.from(data), parsedKey(publicKeyPem), Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/** The configured key (PEM secret), else `<dataDir>/signing-key.pem`, generated on first start. */
export function loadSigningKey(opts: { dataDir: string; signingKeyPem?: string }): SigningKey {
  if (opts.signingKeyPem) return new SigningKey(createPrivateKey(opts.signingKeyPem));
  const path = join(opts.dataDir, 'signing-key.pem');
  if (!existsSync(path)) {
    ensureDir(opts.dataDir);
    const { privateKey } = generateKeyPairSync('ed25519');
    // wx: never overwrite a key another process wrote meanwhile.
    try {
      writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return new SigningKey(createPrivateKey(readFileSync(path, 'utf8')));
}
