// One app, and the file is the app itself: PM2 wraps a bare object in a list.
// pm2 start solo.config.js --env local_production on a laptop, --env production on the server.
module.exports = {
  name: 'solo',
  script: './index.js',
  exec_mode: 'fork',
  kill_timeout: 5000,
  env: {
    PORT: 27675,
    LOG_LEVEL: 'info',
  },
  env_local_production: {
    LOG_LEVEL: 'debug',
  },
  env_production: {
    LOG_LEVEL: 'warn',
  },
};
