#!/usr/bin/env node
// Runs the TypeScript sources through tsx, so `npx casefile-collector` works from a checkout.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli.ts');
