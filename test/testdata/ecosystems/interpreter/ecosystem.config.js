// Programs that are not Node.js: a shell script run directly, the same script
// under bash, and a command found on PATH.
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
  ],
};
