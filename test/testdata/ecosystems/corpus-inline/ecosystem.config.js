// Commands written the way they are typed in a terminal: PM2 runs a script
// that contains a space with bash -c.
module.exports = {
  apps: [
    {
      name: 'web',
      script: 'node server.js',
      env: {
        PORT: 27620,
      },
    },
    {
      name: 'start',
      script: 'npm run start',
    },
    {
      name: 'ticker',
      script: 'while true; do echo tick; sleep 5; done',
    },
  ],
};
