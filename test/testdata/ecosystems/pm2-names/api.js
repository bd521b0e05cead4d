// Answers with its PM2 name, so that a test sees the process it talks to.
require('node:http').createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ name: process.env.name, port: process.env.PORT }));
}).listen(Number(process.env.PORT), '127.0.0.1');
