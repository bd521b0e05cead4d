const http = require('http');

http.createServer((req, res) => res.end(`solo ${process.env.LOG_LEVEL}\n`)).listen(process.env.PORT, '127.0.0.1');
