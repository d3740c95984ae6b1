/**
 * The models stage's counters as Prometheus metrics (`casefile_models_*`),
 * read from {@link ModelStage.stats} when /metrics is scraped, so counting
 * costs the stage nothing per event.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ModelStageStats } from './model-stage';

/** Register the models stage's metrics on `registry`; `stats` answers undefined while there is no stage. */
export function registerModelMetrics(registry: Registry, stats: () => ModelStageStats | undefined): void {
  const registers = [registry];
  type Values<L extends string> = (s: ModelStageStats) => [Partial<Record<L, string>>, number][];
  // Each metric's label sets are set from the stats at each scrape (none while there is no stage).
  const counter = <L extends string>(name: string, help: string, labelNames: L[], values: Values<L>) =>
    new Counter({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        const s = stats();
        if (s) for (const [labels, v] of values(s)) this.inc(labels, v);
      },
    });
  const gauge = <L extends string>(name: string, help: string, labelNames: L[], values: Values<L>) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        const s = stats();
        if (s) for (const [labels, v] of values(s)) this.set(labels, v);
      },
    });

  gauge('casefile_models', 'Runtime models, by state (learning, active)', ['state'], (s) => [
    [{ state: 'learning' }, s.models.learning],
    [{ state: 'active' }, s.models.active],
  ]);
  counter(
    'casefile_models_behaviours_learned_total',
    'Behaviours the models learned, by kind (process, listen, connect)',
    ['kind'],
    (s) => Object.entries(s.learned).map(([kind, n]) => [{ kind }, n])
  );
  counter(
    'casefile_models_commands_total',
    'Admin commands applied to a model (reset, extend)',
    ['op'],
    (s) => Object.entries(s.commands).map(([op, n]) => [{ op }, n])
  );
  counter(
    'casefile_models_persist_errors_total',
    'Model state that could not be read or written: load (model file unreadable, relearned), save (write failed, retried), command (admin command unreadable, dropped)',
    ['op'],
    (s) => Object.entries(s.persistErrors).map(([op, n]) => [{ op }, n])
  );
  counter('casefile_models_state_events_total', 'model.state events emitted', [], (s) => [
    [{}, s.stateEvents],
  ]);
  counter(
    'casefile_models_audits_total',
    'runtime.audit events emitted, by action (alert, prevent, block)',
    ['action'],
    (s) => Object.entries(s.auditor.audits).map(([action, n]) => [{ action }, n])
  );
  counter(
    'casefile_models_audits_suppressed_total',
    'Findings not audited: rate_limit (held back; counted in the next audit of the container and attack type), policy (rule disabled in the scope)',
    ['reason'],
    (s) => [
      [{ reason: 'rate_limit' }, s.auditor.rateLimited],
      [{ reason: 'policy' }, s.auditor.disabled],
    ]
  );
  gauge(
    'casefile_models_audits_suppressed_pending',
    'Rate-limited audits not yet reported in a later audit',
    [],
    (s) => [[{}, s.auditor.rateLimitPending]]
  );
  counter(
    'casefile_models_audits_suppressed_unreported_total',
    'Rate-limited audits whose bucket was forgotten before a later audit reported them',
    [],
    (s) => [[{}, s.auditor.rateLimitUnreported]]
  );
  counter(
    'casefile_models_actions_total',
    'Policy actions by action (prevent, block) and result (ok, error); a block is ok once the runtime stopped the container',
    ['action', 'result'],
    (s) =>
      (['prevent', 'block'] as const).flatMap((action): [Record<'action' | 'result', string>, number][] => [
        [{ action, result: 'ok' }, s.actions.ok[action]],
        [{ action, result: 'error' }, s.actions.failed[action]],
      ])
  );
  gauge(
    'casefile_models_image_wait_containers',
    "New containers whose events wait for the container's image",
    [],
    (s) => [[{}, s.imageWait.waiting]]
  );
  counter(
    'casefile_models_image_wait_events_total',
    "Events of new containers by what became of them: held (waited), released (evaluated with the image), expired (evaluated without it), dropped (past the container's limit, never evaluated)",
    ['outcome'],
    (s) => [
      [{ outcome: 'held' }, s.imageWait.held],
      [{ outcome: 'released' }, s.imageWait.released],
      [{ outcome: 'expired' }, s.imageWait.expired],
      [{ outcome: 'dropped' }, s.imageWait.dropped],
    ]
  );
  gauge('casefile_models_processes', 'Processes in the models process table', [], (s) => [
    [{}, s.processes.size],
  ]);
  gauge('casefile_models_containers', 'Containers the models stage tracks', [], (s) => [[{}, s.containers]]);
  counter(
    'casefile_models_proc_reads_total',
    'Reads of /proc/<pid>/exe by the exec detector, by result (live, gone); a gone process is read once',
    ['result'],
    (s) => [
      [{ result: 'live' }, s.processes.procReadsLive],
      [{ result: 'gone' }, s.processes.procReadsGone],
    ]
  );
}
