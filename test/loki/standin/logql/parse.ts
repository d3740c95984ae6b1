/**
 * LogQL, parsed with Grafana's own grammar (@grafana/lezer-logql, Apache-2.0),
 * into the small AST the stand-in evaluates. Exactly the forms Casefile builds
 * are modelled (schema/src/logql.ts, dashboards, alert rules); any other node
 * is refused with 400 "not modelled", never evaluated approximately.
 */
import { parser } from '@grafana/lezer-logql';
import type { SyntaxNode } from '@lezer/common';
import RE2 from 're2';
import { parseDurationNs } from '../config';
import { HttpError, notModelled } from '../http-error';

export interface Matcher {
  name: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
  test(v: string): boolean;
}
export interface LineFilter {
  op: '|=' | '!=' | '|~' | '!~';
  value: string;
  test(line: string): boolean;
}
export type Stage = { kind: 'line'; filter: LineFilter } | { kind: 'label'; matcher: Matcher };
export interface LogQuery {
  kind: 'log';
  selector: Matcher[];
  stages: Stage[];
}
export type CmpOp = '>' | '<' | '>=' | '<=' | '==' | '!=';
export type MetricQuery =
  | { kind: 'count_over_time'; log: LogQuery; rangeNs: bigint }
  | { kind: 'sum' | 'count'; by: string[]; inner: MetricQuery }
  | { kind: 'cmp'; op: CmpOp; left: MetricQuery; value: number };
export type Query = LogQuery | MetricQuery;

/** Go's strconv.Unquote for LogQL strings: "..." with Go escapes, or `...` raw. */
export function unquote(s: string): string {
  if (s.startsWith('`')) return s.slice(1, -1);
  const body = s.slice(1, -1);
  const bytes: number[] = [];
  const pushUtf8 = (cp: number) => bytes.push(...Buffer.from(String.fromCodePoint(cp), 'utf8'));
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      const cp = body.codePointAt(i)!;
      pushUtf8(cp);
      if (cp > 0xffff) i++;
      continue;
    }
    const n = body[++i];
    const simple: Record<string, number> = {
      a: 7,
      b: 8,
      f: 12,
      n: 10,
      r: 13,
      t: 9,
      v: 11,
      '\\': 92,
      '"': 34,
      "'": 39,
    };
    if (n in simple) bytes.push(simple[n]);
    else if (n === 'x') {
      bytes.push(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (n === 'u' || n === 'U') {
      const len = n === 'u' ? 4 : 8;
      pushUtf8(parseInt(body.slice(i + 1, i + 1 + len), 16));
      i += len;
    } else if (n >= '0' && n <= '7') {
      bytes.push(parseInt(body.slice(i, i + 3), 8));
      i += 2;
    } else throw new HttpError(400, `parse error: invalid escape \\${n} in ${s}`);
  }
  return Buffer.from(bytes).toString('utf8');
}

function compile(pattern: string, anchored: boolean): RE2 {
  try {
    return new RE2(anchored ? `^(?:${pattern})$` : pattern);
  } catch (e) {
    throw new HttpError(
      400,
      `parse error: invalid regex ${JSON.stringify(pattern)}: ${(e as Error).message}`
    );
  }
}

class Parser {
  constructor(private readonly q: string) {}
  text(n: SyntaxNode): string {
    return this.q.slice(n.from, n.to);
  }
  kids(n: SyntaxNode): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let c = n.firstChild; c; c = c.nextSibling) out.push(c);
    return out;
  }
  /** Children of a left-recursive list node (Matchers, PipelineExpr, LineFilters, Labels) flattened. */
  list(n: SyntaxNode, item: string): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (const c of this.kids(n)) {
      if (c.name === n.name) out.push(...this.list(c, item));
      else if (c.name === item) out.push(c);
      else if (c.name !== ',' && c.name !== 'Pipe')
        throw notModelled(`${c.name} in ${n.name} (${this.text(c)})`);
    }
    return out;
  }
  one(n: SyntaxNode, name: string): SyntaxNode {
    const c = this.kids(n).find((k) => k.name === name);
    if (!c) throw notModelled(`${n.name} without ${name}: ${this.text(n)}`);
    return c;
  }
  only(n: SyntaxNode, allowed: string[]): SyntaxNode[] {
    const ks = this.kids(n);
    for (const k of ks)
      if (!allowed.includes(k.name)) throw notModelled(`${k.name} in ${n.name} (${this.text(k)})`);
    return ks;
  }

  matcher(n: SyntaxNode): Matcher {
    const [id, opNode, str] = this.only(n, ['Identifier', 'Eq', 'Neq', 'Re', 'Nre', 'String']);
    const ops: Record<string, Matcher['op']> = { Eq: '=', Neq: '!=', Re: '=~', Nre: '!~' };
    const op = ops[opNode.name];
    const value = unquote(this.text(str));
    const name = this.text(id);
    if (op === '=' || op === '!=') {
      const neg = op === '!=';
      return { name, op, value, test: (v) => (v === value) !== neg };
    }
    const re = compile(value, true); // Prometheus label matchers are fully anchored
    const neg = op === '!~';
    return { name, op, value, test: (v) => re.test(v) !== neg };
  }

  lineFilter(n: SyntaxNode): LineFilter {
    const [filter, str] = this.only(n, ['Filter', 'String']);
    if (!filter || !str) throw notModelled(`line filter ${this.text(n)}`);
    const [opNode] = this.only(filter, ['PipeExact', 'PipeMatch', 'Neq', 'Nre']);
    const ops: Record<string, LineFilter['op']> = { PipeExact: '|=', PipeMatch: '|~', Neq: '!=', Nre: '!~' };
    const op = ops[opNode.name];
    const value = unquote(this.text(str));
    if (op === '|=' || op === '!=') {
      const neg = op === '!=';
      return { op, value, test: (l) => l.includes(value) !== neg };
    }
    const re = compile(value, false); // line filters match anywhere in the line
    const neg = op === '!~';
    return { op, value, test: (l) => re.test(l) !== neg };
  }

  selector(n: SyntaxNode): Matcher[] {
    const ms = this.list(this.one(n, 'Matchers'), 'Matcher').map((m) => this.matcher(m));
    // Loki refuses selectors that could match every stream (pkg/logql/syntax: validateMatchers).
    if (!ms.some((m) => !m.test('')))
      throw new HttpError(
        400,
        'parse error : queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will'
      );
    return ms;
  }

  stages(n: SyntaxNode | undefined): Stage[] {
    if (!n) return [];
    const out: Stage[] = [];
    for (const st of this.list(n, 'PipelineStage')) {
      const [first, second] = this.kids(st);
      if (first?.name === 'LineFilters') {
        for (const lf of this.list(first, 'LineFilter'))
          out.push({ kind: 'line', filter: this.lineFilter(lf) });
      } else if (first?.name === 'Pipe' && second?.name === 'LabelFilter') {
        const [m] = this.only(second, ['Matcher']);
        out.push({ kind: 'label', matcher: this.matcher(m) });
      } else throw notModelled(`pipeline stage ${this.text(st)}`);
    }
    return out;
  }

  logExpr(n: SyntaxNode): LogQuery {
    const ks = this.only(n, ['Selector', 'PipelineExpr']);
    return {
      kind: 'log',
      selector: this.selector(ks.find((k) => k.name === 'Selector')!),
      stages: this.stages(ks.find((k) => k.name === 'PipelineExpr')),
    };
  }

  metric(n: SyntaxNode): MetricQuery {
    const [inner] = this.kids(n);
    switch (inner?.name) {
      case 'RangeAggregationExpr': {
        const ks = this.only(inner, ['RangeOp', 'LogRangeExpr']);
        const [op] = this.only(ks[0], ['CountOverTime']);
        if (!op) throw notModelled(this.text(ks[0]));
        const lr = this.only(ks[1], ['Selector', 'PipelineExpr', 'Range']);
        const range = this.text(this.one(this.one(ks[1], 'Range'), 'Duration'));
        return {
          kind: 'count_over_time',
          log: {
            kind: 'log',
            selector: this.selector(lr.find((k) => k.name === 'Selector')!),
            stages: this.stages(lr.find((k) => k.name === 'PipelineExpr')),
          },
          rangeNs: parseDurationNs(range),
        };
      }
      case 'VectorAggregationExpr': {
        const ks = this.only(inner, ['VectorOp', 'Grouping', 'MetricExpr']);
        const [op] = this.only(
          ks.find((k) => k.name === 'VectorOp')!,
          ['Sum', 'Count']
        );
        const g = ks.find((k) => k.name === 'Grouping');
        if (!g) throw notModelled(`${this.text(op)} without "by (...)"`);
        const [by, labels] = this.only(g, ['By', 'Labels']);
        if (by.name !== 'By') throw notModelled(this.text(g));
        return {
          kind: op.name === 'Sum' ? 'sum' : 'count',
          by: labels ? this.list(labels, 'Identifier').map((l) => this.text(l)) : [],
          inner: this.metric(ks.find((k) => k.name === 'MetricExpr')!),
        };
      }
      case 'BinOpExpr': {
        const [l, opNode, mod, r] = this.only(inner, [
          'Expr',
          'Gtr',
          'Lss',
          'Gte',
          'Lte',
          'Eql',
          'Neq',
          'BinOpModifier',
        ]);
        if (mod?.name !== 'BinOpModifier' || this.text(mod).trim() !== '')
          throw notModelled(`binary operator modifier ${this.text(mod)}`);
        const op = ({ Gtr: '>', Lss: '<', Gte: '>=', Lte: '<=', Eql: '==', Neq: '!=' } as const)[
          opNode.name as 'Gtr'
        ];
        if (!op) throw notModelled(`operator ${this.text(opNode)}`);
        const left = this.one(l, 'MetricExpr');
        const lit = this.one(this.one(r, 'MetricExpr'), 'LiteralExpr');
        return {
          kind: 'cmp',
          op,
          left: this.metric(left),
          value: Number(this.text(this.one(lit, 'Number'))),
        };
      }
      default:
        throw notModelled(`metric expression ${this.text(n)}`);
    }
  }
}

/** Parse a query; 400 with Loki's "parse error" wording on a syntax error. */
export function parseQuery(q: string): Query {
  const tree = parser.parse(q);
  let bad: { from: number; to: number } | undefined;
  tree.iterate({
    enter: (n) => {
      if (n.type.isError && !bad) bad = { from: n.from, to: n.to };
    },
  });
  if (bad)
    throw new HttpError(
      400,
      `parse error at position ${bad.from + 1}: syntax error near ${JSON.stringify(q.slice(bad.from, bad.from + 20))}`
    );
  const p = new Parser(q);
  const expr = p.one(tree.topNode, 'Expr');
  const [top] = p.kids(expr);
  if (top?.name === 'LogExpr') return p.logExpr(top);
  if (top?.name === 'MetricExpr') return p.metric(top);
  throw notModelled(`expression ${q}`);
}
