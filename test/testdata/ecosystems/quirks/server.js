// Answers with what the process was started with.
const http = require('http');

http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  const { PORT, DEBUG, RETRIES, EMPTY, CONFIG, TAGS } = process.env;
  res.end(JSON.stringify({ env: { PORT, DEBUG, RETRIES, EMPTY, CONFIG, TAGS }, execArgv: process.execArgv, cwd: process.cwd() }));
}).listen(Number(process.env.PORT), '127.0.0.1');
