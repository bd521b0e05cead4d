const http = require('http');

http.createServer((req, res) => res.end(`${process.env.NODE_ENV} ${process.pid}\n`)).listen(process.env.PORT, '127.0.0.1');
