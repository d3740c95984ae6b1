/**
 * Grafana's interpolation of a dashboard query, for the forms Casefile's provisioned queries use,
 * so they can be run against Loki as Grafana would send them:
 *
 * - `${name:regex}`: the value regex-escaped as @grafana/data 13's `escapeRegex` does (the
 *   formatter Grafana 13's dashboards apply: `\` before each of `\ ^ $ * + ? . ( ) | [ ] { } /`);
 * - `${name:raw}`, `${name}`, `$name`: the value as it is;
 * - `$__auto`, `$__interval`, `$__range`: the step and the range as LogQL durations.
 *
 * Anything else (another format, an unknown variable) throws: a query this cannot reproduce is
 * not run as something else.
 */

/** @grafana/data's escapeRegex (packages/grafana-data/src/text/string.ts). */
export function grafanaEscapeRegex(value: string): string {
  return value.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');
}

export interface InterpolationContext {
  /** Dashboard variable values by name. */
  variables: Record<string, string>;
  /** `$__auto` and `$__interval`, e.g. `15s`. */
  step: string;
  /** `$__range`, e.g. `3600s`. */
  range: string;
}

const FORMATS: Record<string, (v: string) => string> = {
  regex: grafanaEscapeRegex,
  raw: (v) => v,
};

/**
 * The query Grafana sends for `expr`.
 *
 * @example interpolate('{a=~`${host:regex}`} [$__auto]', { variables: { host: 'n.1' }, step: '15s', range: '1h' })
 *   // => '{a=~`n\\.1`} [15s]'
 */
export function interpolate(expr: string, ctx: InterpolationContext): string {
  const builtins: Record<string, string> = { __auto: ctx.step, __interval: ctx.step, __range: ctx.range };
  return expr.replace(
    /\$\{(\w+)(?::(\w+))?\}|\$(\w+)/g,
    (all, braced?: string, fmt?: string, bare?: string) => {
      const name = braced ?? bare!;
      const value = name in builtins ? builtins[name] : ctx.variables[name];
      if (value === undefined) throw new Error(`${all}: no variable ${name} in ${expr}`);
      if (name in builtins) {
        if (fmt) throw new Error(`${all}: a format on ${name} is not modelled`);
        return value;
      }
      const format = FORMATS[fmt ?? 'raw'];
      if (!format) throw new Error(`${all}: format ${fmt} is not modelled`);
      return format(value);
    }
  );
}
