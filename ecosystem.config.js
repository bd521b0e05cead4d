// Runs the pm2-gitops controller itself as a PM2 app: `pm2 start ecosystem.config.js`.
// This package is an ES module; PM2 loads this file with require(), which Node.js
// (>= 20.19) answers with the module's named exports, so `apps` is exported by name.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = dirname(fileURLToPath(import.meta.url));

// One host of a fleet: PM2_GITOPS_HOST names it, PM2_GITOPS_HOST_LABELS gives its labels (role=web,zone=eu-1).
const host = process.env.PM2_GITOPS_HOST ? ['--host', process.env.PM2_GITOPS_HOST] : [];
const labels = (process.env.PM2_GITOPS_HOST_LABELS || '').split(',').filter(Boolean).flatMap((label) => ['--host-label', label.trim()]);

export const apps = [
  {
    name: 'pm2-gitops',
    namespace: 'pm2-gitops',
    script: join(root, 'bin', 'pm2-gitops.js'),
    args: ['run', '--repo', process.env.PM2_GITOPS_REPO || root, '--path', process.env.PM2_GITOPS_PATH || 'manifests', '--env', process.env.PM2_GITOPS_ENV || 'dev', ...host, ...labels],
    cwd: root,
    exec_mode: 'fork',
    instances: 1,
    autorestart: true,
    kill_timeout: 30000,
    max_memory_restart: '300M',
    env: { NODE_ENV: 'production' },
  },
];

export default { apps };
