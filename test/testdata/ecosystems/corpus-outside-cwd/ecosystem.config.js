// The new API lives in this repository; the legacy exporter is installed on
// the host, outside it, and runs from its own folder.
module.exports = {
  apps: [
    {
      name: 'new-api',
      script: 'index.js',
      env: { PORT: 27648 },
    },
    {
      name: 'legacy-exporter',
      cwd: process.env.LEGACY_HOME || '/opt/legacy-exporter',
      script: 'run.sh',
      interpreter: 'bash',
      args: '--every 30',
    },
  ],
};
