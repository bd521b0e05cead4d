/**
 * Where an environment's reports live on the status branch (pure). A
 * controller that names its host (`run --host NAME`, one host of a fleet)
 * writes `status/<env>/<host>.md`, its own evidence chain under
 * `evidence/<env>/<host>/` and regenerates the fleet summary
 * `status/<env>.md`; one that does not (a single host) writes its status to
 * `status/<env>.md` and its chain to `evidence/<env>/`.
 */

/** The files of one host's reports on one environment. */
export interface ReportLayout {
  environment: string;
  /** Set when the host reports as one host of a fleet. */
  host?: string;
  /** This host's status file. */
  statusFile: string;
  /** The folder of this host's evidence chain. */
  evidenceDir: string;
  /** The fleet summary this host regenerates (per-host reporting only). */
  summaryFile?: string;
  /** The folder of every host's status file (per-host reporting only). */
  hostsDir?: string;
}

/** The layout of `environment`'s reports; with `host`, those of that host of a fleet. */
export function reportLayout(environment: string, host?: string): ReportLayout {
  if (host === undefined) return { environment, statusFile: `status/${environment}.md`, evidenceDir: `evidence/${environment}` };
  return {
    environment,
    host,
    statusFile: `status/${environment}/${host}.md`,
    evidenceDir: `evidence/${environment}/${host}`,
    summaryFile: `status/${environment}.md`,
    hostsDir: `status/${environment}`,
  };
}
