import { test } from 'node:test';
import { equal } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderEventDocs } from '../scripts/event-docs';

test('docs/events.md is generated from the schema and up to date (npm run docs:events)', () => {
  const committed = readFileSync(resolve(import.meta.dirname, '../../docs/events.md'), 'utf8');
  equal(committed, renderEventDocs(), 'docs/events.md is stale: run `npm run docs:events`');
});
