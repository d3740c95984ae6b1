/**
 * A Dockerfile as the tests read it: dockerfilelint's findings, and the final
 * stage's environment, user, health check and start command (dockerfile-ast).
 */
import { readFileSync } from 'node:fs';
import { DockerfileParser } from 'dockerfile-ast';
import { run as dockerfilelint } from 'dockerfilelint';

export interface LintIssue {
  line: number;
  rule: string;
  title: string;
}

/**
 * dockerfilelint's findings for `text`, less one false positive: it predates
 * multi-stage builds and reads `FROM <earlier stage> AS ...` as an image without a tag.
 */
export function lintDockerfile(text: string): LintIssue[] {
  const stages = new Set(
    DockerfileParser.parse(text)
      .getFROMs()
      .map((f) => f.getBuildStage())
      .filter((s): s is string => !!s)
  );
  const lines = text.split('\n');
  return (dockerfilelint('./', text) as LintIssue[])
    .filter(
      (i) => !(i.rule === 'missing_tag' && stages.has(/^FROM\s+(\S+)/i.exec(lines[i.line - 1])?.[1] ?? ''))
    )
    .map(({ line, rule, title }) => ({ line, rule, title }));
}

export interface FinalStage {
  /** Base image of the stage that runs. */
  from: string;
  stages: number;
  env: Record<string, string>;
  user?: string;
  healthcheck?: string;
  entrypoint: string[];
  cmd: string[];
  /** The stage's instructions as written, for checks on what it copies and runs. */
  text: string;
}

const jsonArgs = (s: string | undefined) => (s ? (JSON.parse(s) as string[]) : []);

/** The final stage of the Dockerfile at `path`. */
export function finalStage(path: string): FinalStage {
  const d = DockerfileParser.parse(readFileSync(path, 'utf8'));
  const froms = d.getFROMs();
  const last = froms[froms.length - 1];
  const start = last.getRange().start.line;
  const ins = d.getInstructions().filter((i) => i.getRange().start.line >= start);
  const one = (k: string) =>
    ins
      .filter((i) => i.getKeyword() === k)
      .pop()
      ?.getArgumentsContent() ?? undefined;
  const env: Record<string, string> = {};
  for (const e of d.getENVs().filter((x) => x.getRange().start.line >= start))
    for (const p of e.getProperties()) env[p.getName()] = p.getValue() ?? '';
  return {
    from: last.getImageName() ?? '',
    stages: froms.length,
    env,
    user: one('USER'),
    healthcheck: one('HEALTHCHECK'),
    entrypoint: jsonArgs(one('ENTRYPOINT')),
    cmd: jsonArgs(one('CMD')),
    text: ins.map((i) => i.getTextContent()).join('\n'),
  };
}
