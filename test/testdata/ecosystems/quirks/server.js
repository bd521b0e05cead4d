// Answers with what the process was started with.
const http = require('http');

const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  const { PORT, DEBUG, RETRIES, EMPTY, CONFIG, TAGS } = process.env;
  res.end(JSON.stringify({ env: { PORT, DEBUG, RETRIES, EMPTY, CONFIG, TAGS }, execArgv: process.execArgv, cwd: process.cwd() }));
});
// A process of an earlier run may still hold the port for a moment: try again.
server.on('error', (err) => {
  if (err.code !== 'EADDRINUSE') throw err;
  setTimeout(() => server.listen(Number(process.env.PORT), '127.0.0.1'), 250);
});
server.listen(Number(process.env.PORT), '127.0.0.1');
