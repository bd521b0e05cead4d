const http = require('http');

http.createServer((req, res) => res.end(`worker ${process.pid}\n`)).listen(process.env.PORT, '127.0.0.1');
console.log('listening');
