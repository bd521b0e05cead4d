import { describeHolder, environmentHolder, environmentLeaseFile } from '../adapters/controller-lease.js';
import { ConflictError } from '../domain/errors.js';
import type { Session } from './session.js';

/**
 * A manual apply of an environment a live controller runs on the same PM2
 * daemon would fight it (the controller puts git's state back): refused
 * (ConflictError, exit 2, nothing touched) unless `force`.
 */
export async function refuseUnderController(s: Session, force: boolean | undefined): Promise<void> {
  if (force) return;
  const env = s.state.environment;
  const holder = environmentHolder(s.pm2.home, env);
  if (!holder) return;
  await s.close();
  throw new ConflictError(`environment ${env} is run by a controller on this PM2 daemon: ${environmentLeaseFile(s.pm2.home, env)} is held by ${describeHolder(holder)}; push the change to git for it to apply, stop the controller, or pass --force to apply anyway`);
}
