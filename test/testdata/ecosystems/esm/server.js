// Answers with what the process was started with (an ES module).
import { createServer } from 'node:http';

createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ env: process.env.NODE_ENV, module: typeof require === 'undefined' ? 'esm' : 'cjs' }));
}).listen(Number(process.env.PORT), '127.0.0.1');
