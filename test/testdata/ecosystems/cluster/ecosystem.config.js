// Cluster mode: two instances sharing one port; and a fork-mode app with two instances.
module.exports = {
  apps: [
    {
      name: 'web',
      script: 'server.js',
      instances: 2,
      exec_mode: 'cluster',
      env: {
        NODE_ENV: 'production',
        PORT: 47010,
      },
    },
    {
      name: 'poller',
      script: './poller.js',
      instances: 2,
    },
  ],
};
