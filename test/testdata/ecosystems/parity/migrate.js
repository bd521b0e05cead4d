// Runs once and exits 0 (or MIGRATE_EXIT).
setTimeout(() => process.exit(Number(process.env.MIGRATE_EXIT || 0)), 200);
