// No "apps" key: PM2 takes a bare array of apps as the list itself.
const os = require('os');

module.exports = [
  {
    name: 'gateway',
    script: 'gateway.js',
    instances: os.cpus().length,
    exec_mode: 'cluster',
    env: { PORT: 27670 },
  },
  {
    name: 'mailer',
    script: 'mailer.js',
    node_args: '--max-old-space-size=64',
    args: ['--from', 'noreply@example.com'],
  },
];
