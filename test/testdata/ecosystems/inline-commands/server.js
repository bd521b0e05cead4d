// Answers with how it was started: its arguments, cwd and port.
const http = require('http');

const port = Number(process.env.PORT);
const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ argv: process.argv.slice(2), cwd: process.cwd(), port }));
});
// A process of an earlier run may still hold the port for a moment: try again.
server.on('error', (err) => {
  if (err.code !== 'EADDRINUSE') throw err;
  setTimeout(() => server.listen(port, '127.0.0.1'), 250);
});
server.listen(port, '127.0.0.1');
