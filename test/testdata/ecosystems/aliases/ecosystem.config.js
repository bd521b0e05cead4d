// Options under the other names PM2 accepts: cmd and command for script,
// camelCase spellings, and merge_logs given twice (as combine_logs too); an
// environment whose name has an underscore.
module.exports = {
  apps: [
    {
      name: 'api',
      cmd: './server.js',
      watch: ['lib'],
      ignoreWatch: ['lib/tmp'],
      watchDelay: 500,
      maxMemoryRestart: '150M',
      killTimeout: 2500,
      merge_logs: true,
      combine_logs: true,
      logDateFormat: 'YYYY-MM-DD HH:mm',
      env: {
        PORT: 27451,
        NODE_ENV: 'development',
      },
      env_local_production: {
        PORT: 27452,
        NODE_ENV: 'production',
      },
    },
    {
      name: 'worker',
      command: 'worker.js',
      execMode: 'fork',
      restartDelay: 1000,
      minUptime: 2000,
      maxRestarts: 5,
    },
  ],
};
