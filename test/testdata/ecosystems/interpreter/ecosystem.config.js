// Programs that are not Node.js: a shell script run directly, the same script
// under bash, a command found on PATH, and `npm start`.
module.exports = {
  apps: [
    {
      name: 'ticker',
      script: './ticker.sh',
      interpreter: 'none',
      args: 'fast',
    },
    {
      name: 'bash-ticker',
      script: 'ticker.sh',
      interpreter: 'bash',
      args: ['slow'],
    },
    {
      name: 'sleeper',
      script: 'sleep',
      interpreter: 'none',
      args: '600',
    },
    {
      name: 'npm-start',
      script: 'npm',
      args: 'start',
    },
  ],
};
