// Habits seen in real projects: absolute paths built from __dirname, log files
// next to the app, env values that are not strings, an option under its alias,
// and a port incremented per cluster instance.
const path = require('path');

module.exports = {
  apps: [
    {
      name: 'quirky',
      script: path.join(__dirname, 'server.js'),
      cwd: __dirname,
      out_file: './logs/out.log',
      error_file: './logs/err.log',
      log_date_format: 'YYYY-MM-DD HH:mm Z',
      interpreter_args: '--no-deprecation',
      env: {
        PORT: 27060,
        DEBUG: false,
        RETRIES: 0,
        EMPTY: '',
        CONFIG: { region: 'eu', replicas: 2 },
        TAGS: ['a', 'b'],
      },
    },
    {
      name: 'counter',
      script: './server.js',
      instances: 2,
      exec_mode: 'cluster',
      increment_var: 'PORT',
      env: {
        PORT: 27061,
      },
    },
  ],
};
