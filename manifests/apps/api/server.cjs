// A tiny HTTP service: answers /healthz and echoes which build answered.
const cluster = require('node:cluster');
const http = require('node:http');

const port = Number(process.env.PORT || 3000);
const started = new Date().toISOString();

const server = http.createServer((req, res) => {
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

// Zero-downtime reloads: PM2 sends SIGINT to the old worker; a cluster worker
// leaves through disconnect() so that no connection handed to it is lost.
process.on('SIGINT', () => {
  if (!cluster.isWorker) return server.close(() => process.exit(0));
  cluster.worker.once('disconnect', () => process.exit(0));
  cluster.worker.disconnect();
});
