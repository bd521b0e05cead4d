// Copies the dashboard's files (src/api/dashboard) next to the compiled API (dist/api/dashboard): tsc copies only what it compiles.
import { cpSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const from = fileURLToPath(new URL('../src/api/dashboard', import.meta.url));
const to = fileURLToPath(new URL('../dist/api/dashboard', import.meta.url));
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true });
