/**
 * Credentials recognisable by their own shape: a fixed prefix and a body of
 * known characters and length, as the gitleaks and secretlint rule catalogues
 * describe them; plus JWTs, `Bearer`/`Basic` credentials, webhook URLs whose
 * path is the secret, and private-key blocks.
 *
 * Linear time: one search with an alternation of literal prefixes (no
 * quantifiers, so no backtracking), then a bounded scan of the body at each
 * hit; the search resumes after the body, so every character is looked at a
 * constant number of times.
 */
import { ALNUM, Spans, charClass, inClass, runEnd } from './spans';

interface TokenFormat {
  /** Rule id, as in gitleaks where it has one. */
  id: string;
  prefixes: string[];
  body: Uint8Array;
  min: number;
  /** Exact length when `max === min`; the body must then end at a non-body char. */
  max?: number;
  /** The prefix stays visible (`Bearer [REDACTED]`, webhook hosts). */
  keepPrefix?: boolean;
  /** The char before the prefix must not be alphanumeric. Default true. */
  boundary?: boolean;
  /** A shape of its own: the end of the token starting at the prefix, or -1 (body, min and max are unused). */
  scan?: (s: string, p: number) => number;
}

const B64URL = charClass('A-Za-z0-9_-');
const B64 = charClass('A-Za-z0-9+/=');
const B64ANY = charClass('A-Za-z0-9+/=_-');
const HEX = charClass('a-f0-9');
const HEXANY = charClass('a-fA-F0-9');
const UPPER_NUM = charClass('A-Z0-9');
const TOKEN68 = charClass('A-Za-z0-9._~+/=-');
const SLACK = charClass('A-Za-z0-9-');
const PATHY = charClass('A-Za-z0-9_/:.-');

/**
 * End of a JWT whose header starts at `p` (`eyJ…`): three base64url segments,
 * the payload a JSON object too (`eyJ`); -1 if it is not one. Segments are
 * maximal runs, so the scan is bounded by the three segments it reads.
 */
function jwtEnd(s: string, p: number): number {
  const a = runEnd(B64URL, s, p);
  if (a - p < 10 || s[a] !== '.' || !s.startsWith('eyJ', a + 1)) return -1;
  const b = runEnd(B64URL, s, a + 1);
  if (b - a < 10 || s[b] !== '.') return -1;
  return runEnd(B64URL, s, b + 1);
}

const FORMATS: TokenFormat[] = [
  { id: 'aws-access-token', prefixes: ['AKIA', 'ASIA', 'ABIA', 'ACCA'], body: UPPER_NUM, min: 16, max: 16 },
  { id: 'github-pat', prefixes: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'], body: ALNUM, min: 36 },
  { id: 'github-fine-grained-pat', prefixes: ['github_pat_'], body: charClass('A-Za-z0-9_'), min: 50 },
  {
    id: 'gitlab-token',
    prefixes: [
      'glpat-',
      'gldt-',
      'glptt-',
      'glrt-',
      'glcbt-',
      'glimt-',
      'glagent-',
      'glsoat-',
      'gloas-',
      'glffct-',
      'GR1348941',
    ],
    body: B64URL,
    min: 20,
  },
  {
    id: 'slack-token',
    prefixes: ['xoxb-', 'xoxp-', 'xoxa-', 'xoxr-', 'xoxs-', 'xoxe-', 'xoxe.xoxp-', 'xapp-'],
    body: SLACK,
    min: 10,
  },
  {
    id: 'stripe-access-token',
    prefixes: ['sk_live_', 'sk_test_', 'rk_live_', 'rk_test_', 'whsec_'],
    body: ALNUM,
    min: 16,
  },
  { id: 'gcp-api-key', prefixes: ['AIza'], body: B64URL, min: 35, max: 35 },
  { id: 'gcp-oauth-secret', prefixes: ['GOCSPX-'], body: B64URL, min: 20 },
  { id: 'gcp-oauth-access-token', prefixes: ['ya29.'], body: B64URL, min: 20 },
  { id: 'npm-access-token', prefixes: ['npm_'], body: ALNUM, min: 36 },
  {
    id: 'pypi-upload-token',
    prefixes: ['pypi-AgEIcHlwaS5vcmc', 'pypi-AgENdGVzdC5weXBp'],
    body: B64URL,
    min: 40,
  },
  { id: 'rubygems-api-token', prefixes: ['rubygems_'], body: HEX, min: 48 },
  { id: 'nuget-api-key', prefixes: ['oy2'], body: charClass('a-z0-9'), min: 43, max: 43 },
  { id: 'clojars-api-token', prefixes: ['CLOJARS_'], body: ALNUM, min: 40 },
  { id: 'hashicorp-vault-token', prefixes: ['hvs.', 'hvb.', 'hvr.'], body: B64URL, min: 20 },
  { id: 'openai-api-key', prefixes: ['sk-proj-', 'sk-svcacct-', 'sk-admin-'], body: B64URL, min: 20 },
  { id: 'openai-legacy-key', prefixes: ['sk-'], body: ALNUM, min: 48, max: 48 },
  {
    id: 'anthropic-api-key',
    prefixes: ['sk-ant-api03-', 'sk-ant-admin01-', 'sk-ant-'],
    body: B64URL,
    min: 20,
  },
  { id: 'huggingface-access-token', prefixes: ['hf_', 'api_org_'], body: ALNUM, min: 30 },
  { id: 'sendgrid-api-token', prefixes: ['SG.'], body: charClass('A-Za-z0-9_.-'), min: 60 },
  { id: 'twilio-api-key', prefixes: ['SK'], body: HEX, min: 32, max: 32 },
  { id: 'mailgun-private-api-token', prefixes: ['key-'], body: HEX, min: 32, max: 32 },
  { id: 'digitalocean-token', prefixes: ['dop_v1_', 'doo_v1_', 'dor_v1_'], body: HEX, min: 64 },
  { id: 'shopify-token', prefixes: ['shpat_', 'shpca_', 'shppa_', 'shpss_'], body: HEXANY, min: 32 },
  { id: 'databricks-api-token', prefixes: ['dapi'], body: HEX, min: 32 },
  {
    id: 'doppler-api-token',
    prefixes: ['dp.pt.', 'dp.st.', 'dp.ct.', 'dp.sa.', 'dp.scim.'],
    body: ALNUM,
    min: 40,
  },
  { id: 'dynatrace-api-token', prefixes: ['dt0c01.'], body: charClass('A-Za-z0-9.'), min: 60 },
  { id: 'pulumi-api-token', prefixes: ['pul-'], body: HEX, min: 40 },
  { id: 'postman-api-token', prefixes: ['PMAK-'], body: SLACK, min: 50 },
  { id: 'grafana-token', prefixes: ['glc_', 'glsa_'], body: B64ANY, min: 32 },
  { id: 'grafana-api-key', prefixes: ['eyJrIjoi'], body: B64, min: 40 },
  { id: 'sentry-token', prefixes: ['sntrys_', 'sntryu_'], body: B64ANY, min: 30 },
  { id: 'linear-api-key', prefixes: ['lin_api_'], body: ALNUM, min: 40 },
  { id: 'figma-pat', prefixes: ['figd_'], body: B64URL, min: 30 },
  { id: 'atlassian-api-token', prefixes: ['ATATT3'], body: charClass('A-Za-z0-9_=-'), min: 100 },
  { id: 'artifactory-api-key', prefixes: ['AKCp'], body: ALNUM, min: 60 },
  { id: 'new-relic-key', prefixes: ['NRAK-', 'NRJS-', 'NRII-'], body: ALNUM, min: 19 },
  { id: 'docker-hub-token', prefixes: ['dckr_pat_', 'dckr_oat_'], body: B64URL, min: 20 },
  { id: 'flyio-access-token', prefixes: ['fo1_', 'fm1r_', 'fm2_'], body: B64ANY, min: 40 },
  {
    id: 'planetscale-token',
    prefixes: ['pscale_tkn_', 'pscale_pw_', 'pscale_oauth_'],
    body: charClass('A-Za-z0-9=._-'),
    min: 32,
  },
  { id: 'tailscale-key', prefixes: ['tskey-auth-', 'tskey-api-', 'tskey-client-'], body: SLACK, min: 20 },
  { id: 'supabase-token', prefixes: ['sbp_'], body: HEX, min: 40 },
  { id: 'alibaba-access-key-id', prefixes: ['LTAI'], body: ALNUM, min: 20 },
  { id: '1password-service-account-token', prefixes: ['ops_eyJ'], body: B64, min: 100 },
  { id: 'age-secret-key', prefixes: ['AGE-SECRET-KEY-1'], body: UPPER_NUM, min: 58 },
  { id: 'heroku-api-key-v2', prefixes: ['HRKU-'], body: B64URL, min: 40 },
  { id: 'notion-token', prefixes: ['secret_', 'ntn_'], body: ALNUM, min: 40 },
  { id: 'mapbox-secret-token', prefixes: ['sk.eyJ'], body: charClass('A-Za-z0-9_.-'), min: 50 },
  { id: 'square-token', prefixes: ['sq0atp-', 'sq0csp-', 'EAAA'], body: B64URL, min: 22 },
  { id: 'buildkite-token', prefixes: ['bkua_'], body: HEX, min: 40 },
  { id: 'prefect-api-token', prefixes: ['pnu_'], body: ALNUM, min: 36 },
  { id: 'duffel-api-token', prefixes: ['duffel_test_', 'duffel_live_'], body: B64URL, min: 43 },
  { id: 'easypost-api-token', prefixes: ['EZAK', 'EZTK'], body: ALNUM, min: 54 },
  { id: 'flutterwave-secret-key', prefixes: ['FLWSECK_TEST-', 'FLWSECK-'], body: HEXANY, min: 32 },
  { id: 'jwt', prefixes: ['eyJ'], body: B64URL, min: 0, scan: jwtEnd },
  // The credential after an HTTP auth scheme, wherever it appears.
  { id: 'bearer', prefixes: ['Bearer ', 'bearer ', 'BEARER '], body: TOKEN68, min: 8, keepPrefix: true },
  { id: 'basic', prefixes: ['Basic ', 'basic ', 'BASIC '], body: B64, min: 8, keepPrefix: true },
  // Webhook URLs: the path is the credential.
  {
    id: 'webhook-url',
    prefixes: [
      'hooks.slack.com/services/',
      'hooks.slack.com/workflows/',
      'discord.com/api/webhooks/',
      'discordapp.com/api/webhooks/',
      'webhook.office.com/webhookb2/',
      'api.telegram.org/bot',
    ],
    body: PATHY,
    min: 20,
    keepPrefix: true,
    boundary: false,
  },
];

/**
 * Maximal runs already measured, per character class: a prefix found inside a
 * run that was measured (`github_pat_github_pat_…`) ends where that run ends,
 * so no run is scanned twice.
 */
class RunCache {
  private readonly last = new Map<Uint8Array, [number, number]>();
  end(cls: Uint8Array, s: string, from: number): number {
    const r = this.last.get(cls);
    if (r && from >= r[0] && from < r[1]) return r[1];
    const end = runEnd(cls, s, from);
    this.last.set(cls, [from, end]);
    return end;
  }
}

const BY_PREFIX = new Map<string, TokenFormat[]>();
for (const f of FORMATS) for (const p of f.prefixes) BY_PREFIX.set(p, [...(BY_PREFIX.get(p) ?? []), f]);

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Every prefix, longest first, so `sk-ant-` wins over `sk-`. */
export const TOKEN_PREFIXES: readonly string[] = [...BY_PREFIX.keys()].sort((a, b) => b.length - a.length);
const PREFIX_RE = new RegExp(TOKEN_PREFIXES.map(escapeRe).join('|'), 'g');

/** Record the span of every known token in `s`. */
export function findTokens(s: string, spans: Spans, budget?: { spend(work: number): boolean }): void {
  const runs = new RunCache();
  PREFIX_RE.lastIndex = 0;
  for (let m = PREFIX_RE.exec(s); m; m = PREFIX_RE.exec(s)) {
    if (budget?.spend(16)) return;
    const p = m.index;
    const bodyStart = p + m[0].length;
    let matchedEnd = -1;
    for (const f of BY_PREFIX.get(m[0])!) {
      if (f.boundary !== false && p > 0 && inClass(ALNUM, s, p - 1)) continue;
      let end: number;
      if (f.scan) {
        end = f.scan(s, p);
        if (end < 0) continue;
      } else {
        const cap = f.max ?? Infinity;
        end = cap === Infinity ? runs.end(f.body, s, bodyStart) : runEnd(f.body, s, bodyStart, cap + 1);
        const n = end - bodyStart;
        if (n < f.min || n > cap) continue;
      }
      spans.add(f.keepPrefix ? bodyStart : p, end);
      matchedEnd = end;
      break;
    }
    // Resume after the token, so no character is scanned again; otherwise one step on.
    PREFIX_RE.lastIndex = matchedEnd > 0 ? matchedEnd : p + 1;
  }
}

const PEM_BEGIN = '-----BEGIN ';
/** Record the body of every `-----BEGIN … PRIVATE KEY-----` block (to its END line, or to the end of `s`). */
export function findPrivateKeys(s: string, spans: Spans): void {
  let from = 0;
  for (let i = s.indexOf(PEM_BEGIN); i >= 0; i = s.indexOf(PEM_BEGIN, from)) {
    const hdrEnd = s.indexOf('-----', i + PEM_BEGIN.length);
    if (hdrEnd < 0) return;
    const label = s.slice(i + PEM_BEGIN.length, hdrEnd);
    from = hdrEnd + 5;
    if (label.length > 40 || !/PRIVATE KEY(?: BLOCK)?$/.test(label)) continue;
    const end = s.indexOf('-----END', from);
    spans.add(from, end < 0 ? s.length : end);
    if (end < 0) return;
    from = end + 8;
  }
}
