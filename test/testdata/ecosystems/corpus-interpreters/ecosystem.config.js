// Programs that are not Node.js apps: a bash script with its arguments in one
// string, an executable with a shebang run as is, a command from PATH, and a
// Node.js script with interpreter flags and arguments as arrays.
module.exports = {
  apps: [
    {
      name: 'sync-bash',
      script: './sync.sh',
      interpreter: 'bash',
      args: "--every 5 --label 'nightly run'",
    },
    {
      name: 'agent',
      script: 'bin/agent',
      interpreter: 'none',
      args: ['--verbose', '--tag=a b'],
    },
    {
      name: 'sleeper',
      script: 'sleep',
      exec_interpreter: 'none',
      args: '600',
    },
    {
      name: 'node-flags',
      script: 'idle.js',
      interpreter: 'node',
      interpreter_args: ['--no-warnings'],
      args: ['--mode', 'batch'],
    },
  ],
};
