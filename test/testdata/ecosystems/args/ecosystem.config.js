// `args` as one string (PM2 splits it like a shell) and as an array (passed as is).
module.exports = {
  apps: [
    {
      name: 'args-string',
      script: 'echo-args.js',
      args: "--port 27020 --name 'hello world' -v",
    },
    {
      name: 'args-array',
      script: 'echo-args.js',
      args: ['--port', '27021', '--name', 'hello world', '--label=a b', ''],
    },
  ],
};
