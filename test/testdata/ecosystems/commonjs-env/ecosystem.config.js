// The common shape from PM2's documentation: several apps, an `env` block and
// an `env_production` block that `pm2 start ecosystem.config.js --env production` selects.
module.exports = {
  apps: [
    {
      name: 'api',
      script: './api.js',
      env: {
        NODE_ENV: 'development',
        PORT: 47001,
        GREETING: 'hello from dev',
      },
      env_production: {
        NODE_ENV: 'production',
        PORT: 47002,
      },
    },
    {
      name: 'worker',
      script: 'worker.js',
      env: {
        NODE_ENV: 'development',
        QUEUE: 'mail',
      },
      env_production: {
        NODE_ENV: 'production',
        QUEUE_CONCURRENCY: 4,
      },
    },
  ],
};
