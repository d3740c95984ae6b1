/**
 * The pin jobs' journal: one JSON file in the data dir, rewritten whole
 * (temp file + rename, so a crash leaves the old or the new file, never half
 * of one) whenever a job is created or changes state. Progress is not
 * journalled: after a restart only the states matter.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PinJobRecord } from './pin-job';

const FILE = 'pin-jobs.json';
const FORMAT = 'casefile-pin-jobs/1';

export class PinJobJournal {
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, FILE);
  }

  /** The jobs written last, oldest first; none when there is no journal yet. */
  load(): PinJobRecord[] {
    if (!existsSync(this.path)) return [];
    let doc: { format?: string; jobs?: PinJobRecord[] } | undefined;
    try {
      doc = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch (err) {
      throw new Error(
        `${this.path} cannot be read (${(err as Error).message}); move it aside to start afresh`
      );
    }
    if (doc?.format !== FORMAT || !Array.isArray(doc.jobs))
      throw new Error(`${this.path} is not a pin-job journal (${FORMAT}); move it aside to start afresh`);
    return doc.jobs;
  }

  save(jobs: readonly PinJobRecord[]): void {
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify({ format: FORMAT, jobs }), { mode: 0o600 });
    renameSync(tmp, this.path);
  }
}
