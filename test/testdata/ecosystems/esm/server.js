// Answers with what the process was started with (an ES module).
import { createServer } from 'node:http';

const server = createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ env: process.env.NODE_ENV, module: typeof require === 'undefined' ? 'esm' : 'cjs' }));
});
// A process of an earlier run may still hold the port for a moment: try again.
server.on('error', (err) => {
  if (err.code !== 'EADDRINUSE') throw err;
  setTimeout(() => server.listen(Number(process.env.PORT), '127.0.0.1'), 250);
});
server.listen(Number(process.env.PORT), '127.0.0.1');
