const http = require('http');
const config = require('../config/default.json');

http.createServer((req, res) => res.end(`${config.greeting}\n`)).listen(process.env.PORT, '127.0.0.1');
