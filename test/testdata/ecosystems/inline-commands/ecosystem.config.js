// Commands written as they are typed in a terminal: PM2 runs a script with a
// space through bash -c, in the app's cwd.
module.exports = {
  apps: [
    {
      name: 'web',
      script: 'node server.js',
      env: {
        PORT: 27450,
      },
    },
    {
      name: 'site',
      cwd: './site',
      script: 'npm run start',
    },
    {
      name: 'ticker',
      script: 'while true; do sleep 60; done',
    },
  ],
};
