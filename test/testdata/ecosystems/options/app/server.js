// Answers with what the process was started with.
const http = require('http');

http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ env: process.env.NODE_ENV, argv: process.argv.slice(2), execArgv: process.execArgv, cwd: process.cwd() }));
}).listen(Number(process.env.PORT), '127.0.0.1');
