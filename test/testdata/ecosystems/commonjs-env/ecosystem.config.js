// The common shape from PM2's documentation: several apps, an `env` block, an
// `env_production` block that `pm2 start ecosystem.config.js --env production`
// selects, and a deploy section whose env PM2 merges under every app's env.
module.exports = {
  apps: [
    {
      name: 'api',
      script: './api.js',
      env: {
        NODE_ENV: 'development',
        PORT: 27001,
        GREETING: 'hello from dev',
      },
      env_production: {
        NODE_ENV: 'production',
        PORT: 27002,
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
  deploy: {
    production: {
      user: 'node',
      host: ['203.0.113.10'],
      ref: 'origin/main',
      repo: 'git@example.com:shop/api.git',
      path: '/var/www/shop',
      'post-deploy': 'npm ci && pm2 reload ecosystem.config.js --env production',
      env: {
        DEPLOYED_BY: 'pm2 deploy',
        QUEUE: 'from-deploy',
      },
    },
  },
};
