// Cluster logs in one file per stream next to the app, with timestamps.
// combine_logs is the older spelling of merge_logs; files copied between
// projects often carry both.
module.exports = {
  apps: [
    {
      name: 'logs-web',
      script: './server.js',
      exec_mode: 'cluster',
      instances: 2,
      combine_logs: true,
      merge_logs: true,
      out_file: './logs/web-out.log',
      error_file: './logs/web-error.log',
      log_date_format: 'YYYY-MM-DD HH:mm:ss Z',
      env: {
        PORT: 27640,
      },
    },
    {
      name: 'logs-worker',
      script: 'worker.js',
      time: true,
      output: './logs/worker.log',
      error: './logs/worker.err.log',
    },
  ],
};
