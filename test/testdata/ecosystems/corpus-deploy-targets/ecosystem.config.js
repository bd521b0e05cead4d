// pm2 deploy to two targets: each target's env is merged into the app's env,
// and post-deploy installs exactly the lockfile before reloading.
module.exports = {
  apps: [
    {
      name: 'shop',
      script: 'server.js',
      env: {
        PORT: 27680,
      },
      env_staging: {
        NODE_ENV: 'staging',
        PORT: 27681,
      },
      env_production: {
        NODE_ENV: 'production',
        PORT: 27682,
      },
    },
  ],
  deploy: {
    staging: {
      user: 'deploy',
      host: 'staging.example.com',
      ref: 'origin/develop',
      repo: 'git@github.com:acme/shop.git',
      path: '/srv/shop-staging',
      'pre-deploy-local': "echo 'deploying to staging'",
      'post-deploy': 'npm ci && pm2 startOrReload ecosystem.config.js --env staging',
      env: {
        SENTRY_ENVIRONMENT: 'staging',
      },
    },
    production: {
      user: 'deploy',
      host: ['shop1.example.com', 'shop2.example.com'],
      ref: 'origin/main',
      repo: 'git@github.com:acme/shop.git',
      path: '/srv/shop',
      'post-deploy': 'npm ci && pm2 startOrReload ecosystem.config.js --env production',
      env: {
        SENTRY_ENVIRONMENT: 'production',
      },
    },
  },
};
