// Every way of asking PM2 for "as many as the machine has": max, -1 (one
// less than the CPUs), a count from the environment as PaaS files read it.
const WEB_CONCURRENCY = process.env.WEB_CONCURRENCY || '4';

module.exports = {
  apps: [
    {
      name: 'cluster-http',
      script: 'server.js',
      instances: 'max',
      exec_mode: 'cluster',
      env: {
        PORT: 27650,
      },
      env_production: {
        NODE_ENV: 'production',
        FEATURES: 'a,b',
      },
    },
    {
      name: 'cluster-jobs',
      script: 'poller.js',
      instances: -1,
      exec_mode: 'cluster',
      env_production: {
        NODE_ENV: 'production',
      },
    },
    {
      name: 'cluster-concurrency',
      script: 'poller.js',
      instances: WEB_CONCURRENCY,
      max_memory_restart: '120M',
    },
  ],
};
