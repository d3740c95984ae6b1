/**
 * Grafana's expansion of provisioning values, as grafana
 * pkg/services/provisioning/values/values.go (interpolateValue), pkg/setting/expanders.go
 * (ExpandVar) and Go's os.ExpandEnv define it (read there, written anew here):
 *
 * 1. The value is split on `$$`; each part is expanded alone and the parts are joined
 *    with a literal `$`.
 * 2. Expanders: `$__env{NAME}` and the bare `${NAME}` read the environment,
 *    `$__file{/path}` reads a file (trimmed; a missing file fails provisioning).
 *    Anything in `{...}` up to the first `}` is the name: `${X:-default}` looks up a
 *    variable literally called `X:-default`, i.e. comes out empty.
 * 3. Then os.ExpandEnv: `$NAME` (letters, digits, `_`), `${NAME}`, `$1`-style special
 *    names; `${}` and an unclosed `${` are eaten; a lone trailing `$` stays.
 *
 * Every expansion that yields nothing is reported, so a check can fail on it.
 */
import { existsSync, readFileSync } from 'node:fs';

/** Something in a value Grafana would expand to empty, or reject. */
export interface ExpansionProblem {
  kind: 'unset' | 'bad-name' | 'missing-file' | 'unknown-expander' | 'bad-syntax';
  text: string;
  message: string;
}

export interface Expanded {
  value: string;
  problems: ExpansionProblem[];
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const EXPANDER = /\$(|__\w+)\{([^}]+)\}/g;
const SPECIAL = '*#$@!?-0123456789';

function lookup(
  env: Record<string, string | undefined>,
  name: string,
  text: string,
  problems: ExpansionProblem[]
) {
  const v = env[name];
  if (!ENV_NAME.test(name) && !(name.length === 1 && SPECIAL.includes(name)))
    problems.push({
      kind: 'bad-name',
      text,
      message: `${text}: Grafana reads "${name}" as the variable name (no shell defaults such as :-), so it expands to empty`,
    });
  else if (v === undefined || v === '')
    problems.push({
      kind: 'unset',
      text,
      message: `${text}: ${name} is not set in Grafana's environment, so it expands to empty`,
    });
  return v ?? '';
}

/** setting.ExpandVar: `$__env{}`, `${}` (env) and `$__file{}`; other `$__x{}` are left for os.ExpandEnv. */
function expandVars(
  s: string,
  env: Record<string, string | undefined>,
  problems: ExpansionProblem[]
): string {
  return s.replace(EXPANDER, (all, kind: string, arg: string) => {
    if (kind === '' || kind === '__env') return lookup(env, arg, all, problems);
    if (kind === '__file') {
      if (!existsSync(arg)) {
        problems.push({
          kind: 'missing-file',
          text: all,
          message: `${all}: no such file; Grafana fails to provision this file`,
        });
        return '';
      }
      return readFileSync(arg, 'utf8').trim();
    }
    problems.push({
      kind: 'unknown-expander',
      text: all,
      message: `${all}: ${kind} is not an expander of Grafana OSS; os.ExpandEnv then reads "$${kind}" as a variable`,
    });
    return all;
  });
}

/** Go's os.ExpandEnv. */
function expandEnv(s: string, env: Record<string, string | undefined>, problems: ExpansionProblem[]): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '$' || i + 1 >= s.length) {
      out += s[i];
      continue;
    }
    const rest = s.slice(i + 1);
    if (rest[0] === '{') {
      if (rest.length > 2 && SPECIAL.includes(rest[1]) && rest[2] === '}') {
        out += lookup(env, rest[1], `\${${rest[1]}}`, problems);
        i += 3;
        continue;
      }
      const close = rest.indexOf('}');
      if (close === 1 || close === -1) {
        const eaten = close === 1 ? '${}' : '${';
        problems.push({ kind: 'bad-syntax', text: eaten, message: `${eaten}: invalid syntax, Go drops it` });
        i += close === 1 ? 2 : 1;
        continue;
      }
      const name = rest.slice(1, close);
      out += lookup(env, name, `\${${name}}`, problems);
      i += close + 1;
      continue;
    }
    if (SPECIAL.includes(rest[0])) {
      out += lookup(env, rest[0], `$${rest[0]}`, problems);
      i += 1;
      continue;
    }
    const m = /^[A-Za-z0-9_]+/.exec(rest);
    if (!m) {
      out += '$';
      continue;
    }
    out += lookup(env, m[0], `$${m[0]}`, problems);
    i += m[0].length;
  }
  return out;
}

/**
 * Expand one provisioning string value as Grafana does, with `env` as Grafana's environment.
 *
 * @example expandValue('${URL:-http://x}', {}).value // => ''  (problem: bad-name)
 * @example expandValue('$$HOME', { HOME: '/h' }).value // => '$HOME'
 */
export function expandValue(value: string, env: Record<string, string | undefined>): Expanded {
  const problems: ExpansionProblem[] = [];
  const parts = value.split('$$').map((part) => expandEnv(expandVars(part, env, problems), env, problems));
  return { value: parts.join('$'), problems };
}
