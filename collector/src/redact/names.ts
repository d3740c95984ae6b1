/**
 * Whether a name (a flag, an environment variable, a JSON key, a header, a
 * query parameter) says its value is a secret. Names are split into words
 * (`keyStorePassword` -> key store password, `X-Api-Key` -> x api key) so that
 * `TOKENIZERS_PARALLELISM`, `--token-limit`, `--secret-name`, `DB_PASSWORD_FILE`
 * and `--no-password` are not mistaken for secrets while `PGPASSWORD`,
 * `--db-pass` and `aws_secret_access_key` are.
 */

/** A word is secret when it ends with one of these (`pgpassword`, `authtoken`, `clientsecret`). */
const SECRET_ENDINGS = [
  'password',
  'passwd',
  'passphrase',
  'passcode',
  'secret',
  'token',
  'apikey',
  'accesskey',
  'secretkey',
  'privatekey',
  'accountkey',
  'masterkey',
  'signingkey',
  'encryptionkey',
  'authkey',
  'credential',
  'credentials',
  'cookie',
  'signature',
  'authorization',
];
/** Words secret only as a whole word. */
const SECRET_WORDS = new Set([
  'pass',
  'pwd',
  'pw',
  'auth',
  'sig',
  'jwt',
  'apitoken',
  'creds',
  'psk',
  'masterauth',
]);
/** `pass` glued to a qualifier: `dbpass`, `rootpass`, `storepass`. */
const PASS_QUALIFIED =
  /^(?:db|sasl|root|admin|user|smtp|mail|ldap|proxy|http|ftp|vnc|rpc|bind|web|api|store|key|rcon|become|ssh|sudo|require)pass$/;
/** `… key` is secret after these (`api key`, `secret access key`, `ssh key`). */
const KEY_QUALIFIERS = new Set([
  'api',
  'access',
  'secret',
  'private',
  'ssh',
  'signing',
  'encryption',
  'master',
  'account',
  'app',
  'license',
  'client',
  'service',
  'shared',
  'storage',
  'auth',
  'deploy',
  'subscription',
  'primary',
  'secondary',
  'webhook',
  'hmac',
  'aes',
  'root',
  'sas',
]);
/** Words that may follow the secret word and keep it secret (`password_1`, `--new-password`, `token value`). */
const TRAILERS = new Set([
  'value',
  'val',
  'data',
  'literal',
  'string',
  'str',
  'text',
  'raw',
  'plain',
  'plaintext',
  'b64',
  'base64',
  'hash',
  'hashed',
  'enc',
  'encrypted',
  'new',
  'old',
  'current',
  'confirm',
  'again',
  'override',
  'secret',
  'key',
  'token',
]);
/** First words that negate (`--no-password`, `--skip-auth`). */
const NEGATIONS = new Set(['no', 'without', 'skip', 'disable', 'ignore', 'allow', 'require', 'use', 'ask']);
/** Words before the secret word that make it a cursor or a reference (`--page-token`, `existingSecret`). */
const NEUTRAL = new Set([
  'existing',
  'page',
  'next',
  'continuation',
  'pagination',
  'sync',
  'cancel',
  'resume',
  'max',
  'num',
]);
/** Names that look secret but are not: the shell's working directory. */
const NOT_SECRET = new Set(['pwd', 'oldpwd', 'with-token', 'authtoken-file']);

/** Lower-case words of a name: split on `-_./: ` and at camelCase humps. */
function nameWords(name: string): string[] {
  const words: string[] = [];
  let cur = '';
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    if ('-_./: '.includes(ch)) {
      if (cur) words.push(cur.toLowerCase());
      cur = '';
      continue;
    }
    const prev = name[i - 1];
    if (cur && ch >= 'A' && ch <= 'Z' && prev >= 'a' && prev <= 'z') {
      words.push(cur.toLowerCase());
      cur = '';
    }
    cur += ch;
  }
  if (cur) words.push(cur.toLowerCase());
  return words;
}

function isSecretWord(words: readonly string[], i: number): boolean {
  const w = words[i];
  if (SECRET_WORDS.has(w) || PASS_QUALIFIED.test(w)) return true;
  if ((w === 'key' || w === 'keys') && i > 0 && KEY_QUALIFIERS.has(words[i - 1])) return true;
  if (w === 'id' && i > 0 && words[i - 1] === 'secret') return true; // Vault's secret_id
  for (const e of SECRET_ENDINGS) if (w.endsWith(e)) return !(i > 0 && NEUTRAL.has(words[i - 1]));
  return false;
}

/**
 * Whether `name` names a secret. `extra` are user-configured names (matched
 * case-insensitively as whole names).
 *
 * @example isSecretName('keyStorePassword') // => true
 * @example isSecretName('TOKENIZERS_PARALLELISM') // => false
 */
export function isSecretName(name: string, extra?: ReadonlySet<string>): boolean {
  const bare = name.replace(/^-+/, '');
  const lower = bare.toLowerCase();
  if (extra?.has(lower)) return true;
  if (NOT_SECRET.has(lower) || bare.length > 80) return false;
  const words = nameWords(bare);
  if (words.length === 0 || NEGATIONS.has(words[0])) return false;
  for (let j = words.length - 1; j >= 0; j--) {
    if (isSecretWord(words, j)) return true;
    if (!TRAILERS.has(words[j]) && !/^\d+$/.test(words[j])) return false;
  }
  return false;
}
