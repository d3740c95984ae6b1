/**
 * Models on disk: one JSON file per model under `<stateDir>/models/`, written
 * atomically (temp file + rename) so a crash never leaves half a model, and an
 * admin spool `<stateDir>/models/commands/` where `casefile-models` drops reset
 * and extend commands for the running collector (applied at start otherwise).
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RuntimeModel, type ModelDocument } from './model';

/** A reset or extend request; `model` is a model id or `*` for all. */
export interface ModelCommand {
  op: 'reset' | 'extend';
  model: string;
  /** For extend: how long to learn again; the configured learning period by default. */
  durationMs?: number;
}

export function modelsDir(stateDir: string): string {
  return join(stateDir, 'models');
}
export function commandsDir(stateDir: string): string {
  return join(modelsDir(stateDir), 'commands');
}

/** File name for a model id: ids hold `:` and `/`, so they are hex-encoded. */
function fileFor(dir: string, id: string): string {
  return join(dir, Buffer.from(id).toString('hex') + '.json');
}

/** Called with a file that could not be read or parsed (it is skipped, not deleted). */
export type OnUnreadable = (file: string, err: Error) => void;

/** The models saved under `stateDir`; a corrupt file is skipped (and relearned) rather than stopping the collector. */
export function loadModels(stateDir: string, onCorrupt?: OnUnreadable): RuntimeModel[] {
  const dir = modelsDir(stateDir);
  mkdirSync(dir, { recursive: true });
  const out: RuntimeModel[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.json')) continue;
    try {
      out.push(new RuntimeModel(JSON.parse(readFileSync(join(dir, f), 'utf8')) as ModelDocument));
    } catch (err) {
      onCorrupt?.(join(dir, f), err as Error);
    }
  }
  return out;
}

export function saveModel(stateDir: string, doc: ModelDocument): void {
  const file = fileFor(modelsDir(stateDir), doc.id);
  writeFileSync(file + '.tmp', JSON.stringify(doc));
  renameSync(file + '.tmp', file);
}

/** Queue a command for the collector (what the admin CLI does). */
export function writeCommand(stateDir: string, cmd: ModelCommand): string {
  const dir = commandsDir(stateDir);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${Date.now()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}.json`);
  writeFileSync(file + '.tmp', JSON.stringify(cmd));
  renameSync(file + '.tmp', file);
  return file;
}

/** Take (read and remove) the queued commands, oldest first; an unreadable one is dropped and reported to `onBad`. */
export function takeCommands(stateDir: string, onBad?: OnUnreadable): ModelCommand[] {
  const dir = commandsDir(stateDir);
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
  } catch {
    return [];
  }
  const out: ModelCommand[] = [];
  for (const f of names) {
    try {
      const c = JSON.parse(readFileSync(join(dir, f), 'utf8')) as ModelCommand;
      if ((c.op === 'reset' || c.op === 'extend') && typeof c.model === 'string') out.push(c);
      else throw new Error(`not a reset or extend command: ${JSON.stringify(c)}`);
    } catch (err) {
      onBad?.(join(dir, f), err as Error);
    }
    rmSync(join(dir, f), { force: true });
  }
  return out;
}
