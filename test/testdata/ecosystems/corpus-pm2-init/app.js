const http = require('http');

http.createServer((req, res) => {
  res.end(`hello from ${process.env.NODE_ENV}\n`);
}).listen(process.env.PORT, '127.0.0.1');
