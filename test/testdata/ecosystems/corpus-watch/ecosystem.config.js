// Development-style watching: restart when the sources or the config change,
// not for dependencies, tests or uploads.
module.exports = {
  apps: [
    {
      name: 'watched-api',
      script: 'src/index.js',
      watch: ['src', 'config'],
      ignore_watch: ['node_modules', 'src/**/*.test.js', 'uploads'],
      watch_delay: 1000,
      watch_options: {
        followSymlinks: false,
      },
      env: {
        PORT: 27685,
      },
    },
    {
      name: 'watched-all',
      script: 'src/idle.js',
      watch: true,
      ignore_watch: ['logs', '*.log', 'deploy', '.git'],
    },
  ],
};
