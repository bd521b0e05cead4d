// One app, and the file is the app itself: PM2 wraps a bare object in a list.
module.exports = {
  name: 'solo',
  script: './index.js',
  exec_mode: 'fork',
  kill_timeout: 5000,
  env: {
    PORT: 27675,
    LOG_LEVEL: 'info',
  },
  env_production: {
    LOG_LEVEL: 'warn',
  },
};
