const http = require('node:http');
http.createServer((req, res) => res.end(process.env.GREETING || 'hi')).listen(Number(process.env.PORT), '127.0.0.1');
