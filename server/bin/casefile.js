#!/usr/bin/env node
// `casefile verify package.zip [--key server-key.pem]`: the offline package verifier
// (src/verify/). Runs the TypeScript sources through tsx, so it needs no build and
// reads the same canonical-form and custody-chain code the server writes with.
import { register } from 'tsx/esm/api';

register();
await import(new URL('../src/verify/casefile-cli.ts', import.meta.url).href);
