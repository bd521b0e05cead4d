// A one-shot job: pretends to migrate a schema, then exits 0.
const target = process.env.SCHEMA_VERSION || '1';
console.log(`migrating schema to version ${target}`);
setTimeout(() => {
  console.log('migration done');
  process.exit(0);
}, 200);
