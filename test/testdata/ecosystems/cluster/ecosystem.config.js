// Cluster mode: two instances sharing one port; an app with two instances and
// no exec_mode; and a count read from the environment (a string), as PaaS-style files do.
module.exports = {
  apps: [
    {
      name: 'web',
      script: 'server.js',
      instances: 2,
      exec_mode: 'cluster',
      env: {
        NODE_ENV: 'production',
        PORT: 27010,
      },
    },
    {
      name: 'poller',
      script: './poller.js',
      instances: 2,
    },
    {
      name: 'concurrency',
      script: './poller.js',
      instances: process.env.ECOSYSTEM_TEST_CONCURRENCY || '2',
      exec_mode: 'cluster_mode',
    },
  ],
};
