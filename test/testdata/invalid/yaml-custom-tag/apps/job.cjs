setTimeout(() => process.exit(0), 100);
