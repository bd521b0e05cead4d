// Listens on the port given by --port and answers with its arguments.
const http = require('http');

const argv = process.argv.slice(2);
const port = Number(argv[argv.indexOf('--port') + 1]);
http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ argv }));
}).listen(port, '127.0.0.1');
