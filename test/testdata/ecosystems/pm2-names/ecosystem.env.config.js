// append_env_to_name: started with `pm2 start ecosystem.env.config.js --env
// production`, the app is named "WEB-production".
module.exports = {
  apps: [
    {
      name: 'WEB',
      script: './worker.js',
      append_env_to_name: true,
      env: { MODE: 'dev' },
      env_production: { MODE: 'production' },
    },
  ],
};
