// One-off and scheduled work beside the service: a migration that runs once
// at start (autorestart false; restart_delay copied from the service's
// block), and a report PM2 starts again every night.
module.exports = {
  apps: [
    {
      name: 'job-web',
      script: 'server.js',
      env: { PORT: 27645 },
    },
    {
      name: 'migrate',
      script: 'migrate.js',
      autorestart: false,
      restart_delay: 2000,
    },
    {
      name: 'nightly-report',
      script: 'report.js',
      autorestart: false,
      cron_restart: '0 2 * * *',
    },
  ],
};
