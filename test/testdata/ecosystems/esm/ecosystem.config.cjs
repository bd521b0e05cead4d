// A project whose package is an ES module keeps its PM2 file as .cjs.
module.exports = {
  apps: [
    {
      name: 'esm-api',
      script: 'server.js',
      env: {
        NODE_ENV: 'development',
        PORT: 27070,
      },
      env_production: {
        NODE_ENV: 'production',
      },
    },
  ],
};
