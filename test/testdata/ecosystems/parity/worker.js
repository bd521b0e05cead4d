// Answers with its working directory and its whole environment.
const http = require('http');

const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ cwd: process.cwd(), env: process.env }));
});
// A process of an earlier run may still hold the port for a moment: try again.
server.on('error', (err) => {
  if (err.code !== 'EADDRINUSE') throw err;
  setTimeout(() => server.listen(Number(process.env.PORT), '127.0.0.1'), 250);
});
server.listen(Number(process.env.PORT), '127.0.0.1');
