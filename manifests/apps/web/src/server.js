// A tiny HTTP service whose answer comes from its dependency, the local package `greeting`.
const http = require('node:http');
const { greet } = require('greeting');

const port = Number(process.env.PORT || 3101);

const server = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok\n');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ service: 'web', pid: process.pid, greeting: greet('web') }) + '\n');
}).listen(port, '127.0.0.1');

process.on('SIGINT', () => server.close(() => process.exit(0)));
