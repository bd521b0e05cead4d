// A tiny HTTP service: answers /healthz and echoes which build answered.
const http = require('node:http');

const port = Number(process.env.PORT || 3000);
const started = new Date().toISOString();

http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok\n');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({
    service: 'api',
    pid: process.pid,
    started,
    greeting: process.env.GREETING || 'hello',
    logLevel: process.env.LOG_LEVEL || 'info',
  }) + '\n');
}).listen(port, '127.0.0.1', () => {
  if (process.send) process.send('ready');
});
