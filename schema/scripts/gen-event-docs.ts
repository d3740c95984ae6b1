import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderEventDocs } from './event-docs';

const path = resolve(import.meta.dirname, '../../docs/events.md');
writeFileSync(path, renderEventDocs());
console.log(`wrote ${path}`);
