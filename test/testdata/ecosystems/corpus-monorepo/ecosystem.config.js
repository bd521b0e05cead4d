// A monorepo: the design system's style guide served by its own package's
// start script, and the queue worker of the services folder. The app names
// are the ones the team sees in `pm2 ls`.
module.exports = {
  apps: [
    {
      name: 'Style Guide',
      cwd: 'packages/style-guide',
      script: 'npm run start',
      env: {
        PORT: 27610,
      },
      env_staging: {
        PORT: 27611,
        STYLE_GUIDE_BANNER: 'staging',
      },
    },
    {
      name: 'queue_worker',
      script: './services/queue/worker.js',
      max_restarts: 10,
      restart_delay: 3000,
      env: {
        QUEUE_NAME: 'emails',
      },
      env_staging: {
        QUEUE_NAME: 'emails-staging',
      },
    },
  ],
};
