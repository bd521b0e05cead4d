// The build step: copies src/ to dist/, stamping each file with the build time.
// A real app would transpile or bundle here; the point is that dist/ exists only after `npm run build`.
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const builtAt = new Date().toISOString();
fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
fs.mkdirSync(path.join(root, 'dist'), { recursive: true });
for (const name of fs.readdirSync(path.join(root, 'src'))) {
  const code = fs.readFileSync(path.join(root, 'src', name), 'utf8');
  fs.writeFileSync(path.join(root, 'dist', name), `// built from src/${name} at ${builtAt}\n${code}`);
  console.log(`built dist/${name}`);
}
