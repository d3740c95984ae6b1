/**
 * Local admin command for runtime models, run on the node:
 *
 *   npx tsx collector/src/models/admin.ts --state-dir /var/lib/casefile list
 *   npx tsx collector/src/models/admin.ts --state-dir DIR reset <model id | *>
 *   npx tsx collector/src/models/admin.ts --state-dir DIR extend <model id | *> [DURATION]
 *
 * reset and extend are queued in the state directory; a running collector
 * applies them within a second (a stopped one at start-up) and emits a
 * model.state event saying so. The state dir defaults to CASEFILE_STATE_DIR,
 * then /var/lib/casefile.
 */
import { parseDuration } from '../config/duration';
import { loadModels, writeCommand } from './store';

function main(argv: string[]): number {
  let stateDir = process.env.CASEFILE_STATE_DIR ?? '/var/lib/casefile';
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--state-dir') stateDir = argv[++i];
    else rest.push(argv[i]);
  }
  const [op, model, duration] = rest;
  if (op === 'list') {
    const now = Date.now();
    for (const m of loadModels(stateDir)) {
      const d = m.toDocument(now);
      console.log(
        `${d.id}\t${d.state}\t${m.size()} behaviours\tlearning until ${new Date(d.learningUntilMs).toISOString()}`
      );
    }
    return 0;
  }
  if ((op === 'reset' || op === 'extend') && model) {
    const file = writeCommand(stateDir, {
      op,
      model,
      durationMs: op === 'extend' && duration ? parseDuration(duration) : undefined,
    });
    console.log(`queued ${op} of ${model} (${file})`);
    return 0;
  }
  console.error('usage: admin.ts [--state-dir DIR] list | reset <model|*> | extend <model|*> [DURATION]');
  return 2;
}

process.exitCode = main(process.argv.slice(2));
