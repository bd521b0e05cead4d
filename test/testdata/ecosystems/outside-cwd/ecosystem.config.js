// An app that runs in a folder outside the project (a tool installed beside
// it): its cwd is an absolute path built from __dirname.
const path = require('path');

module.exports = {
  apps: [
    {
      name: 'app',
      script: './app.js',
    },
    {
      name: 'beside',
      cwd: path.resolve(__dirname, '..'),
      script: 'sleep',
      args: '600',
      interpreter: 'none',
    },
  ],
};
