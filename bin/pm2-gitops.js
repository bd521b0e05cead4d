#!/usr/bin/env node
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('pm2-gitops: dist/ is missing; run `npm run build` in the package folder first\n');
  process.exit(70);
}
await import(entry.href);
