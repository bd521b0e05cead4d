// App names as PM2's own examples and many projects write them: capitals
// (PM2's API/WEB example), a space, an underscore, and an app without a name
// (PM2 names it after its script: "mail_sender"). PM2 keeps these names, and
// its default log files are named after them (~/.pm2/logs/Style-Guide-out.log).
module.exports = {
  apps: [
    {
      name: 'API',
      script: './api.js',
      env: { PORT: 27401 },
    },
    {
      name: 'Style Guide',
      script: './guide.js',
      instances: 2,
      exec_mode: 'cluster',
    },
    {
      name: 'queue_worker',
      script: './worker.js',
      args: '--queue mail',
    },
    {
      script: './mail_sender.js',
    },
  ],
};
