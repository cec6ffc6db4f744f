#!/usr/bin/env node
// Runs the TypeScript sources directly: no build step is needed to use fogline.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
await main(process.argv);
