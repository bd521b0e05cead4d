// A web cluster in a sub-folder, a worker beside the file, and a migration that
// runs once: autorestart off, with the restart_delay the file's other apps
// would want (PM2 then shows it "waiting restart" for good after it exits).
module.exports = {
  apps: [
    {
      name: 'web',
      script: 'server.js',
      cwd: './api',
      exec_mode: 'cluster',
      instances: 2,
      env: { NODE_ENV: 'development', PORT: 27501 },
      env_production: { NODE_ENV: 'production', PORT: 27502 },
    },
    {
      name: 'worker',
      script: './worker.js',
      env: { PORT: 27503, QUEUE: 'default' },
      env_production: { QUEUE: 'production' },
    },
    {
      name: 'migrate',
      script: './migrate.js',
      autorestart: false,
      restart_delay: 10000,
      env_production: { MIGRATE_EXIT: 0 },
    },
  ],
};
