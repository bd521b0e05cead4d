// Options projects set: a namespace, a working directory below the file,
// memory limit, kill timeout, no restart, no watch, Node.js flags, log options.
module.exports = {
  apps: [
    {
      name: 'shop-api',
      namespace: 'shop',
      cwd: './app',
      script: 'server.js',
      max_memory_restart: '200M',
      kill_timeout: 3000,
      autorestart: false,
      watch: false,
      node_args: '--max-old-space-size=128',
      merge_logs: true,
      time: true,
      env: {
        NODE_ENV: 'production',
        PORT: 27050,
      },
    },
    {
      name: 'shop-job',
      namespace: 'shop',
      cwd: 'app',
      script: './job.js',
      node_args: ['--no-warnings', '--max-http-header-size=16384'],
      max_memory_restart: 104857600,
      kill_timeout: 1600,
      min_uptime: 2000,
      max_restarts: 3,
      restart_delay: 500,
      merge_logs: false,
      time: false,
    },
  ],
};
