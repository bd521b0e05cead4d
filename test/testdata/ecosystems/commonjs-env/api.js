// Answers with what the process was started with.
const http = require('http');

const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ env: process.env.NODE_ENV, greeting: process.env.GREETING, argv: process.argv.slice(2), cwd: process.cwd() }));
});
// A process of an earlier run may still hold the port for a moment: try again.
server.on('error', (err) => {
  if (err.code !== 'EADDRINUSE') throw err;
  setTimeout(() => server.listen(Number(process.env.PORT), '127.0.0.1'), 250);
});
server.listen(Number(process.env.PORT), '127.0.0.1');
