const http = require('http');

http.createServer((req, res) => {
  res.end(`style guide ${process.env.STYLE_GUIDE_BANNER || ''}\n`);
}).listen(process.env.PORT, '127.0.0.1');
