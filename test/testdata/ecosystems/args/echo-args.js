// Listens on the port given by --port and answers with its arguments.
const http = require('http');

const argv = process.argv.slice(2);
const port = Number(argv[argv.indexOf('--port') + 1]);
const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ argv }));
});
// A process of an earlier run may still hold the port for a moment: try again.
server.on('error', (err) => {
  if (err.code !== 'EADDRINUSE') throw err;
  setTimeout(() => server.listen(port, '127.0.0.1'), 250);
});
server.listen(port, '127.0.0.1');
