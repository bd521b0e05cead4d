/**
 * The environment of install and build steps (pure): the task's env as the
 * manifest declares it, over a short allow-list of what tools need from the
 * host (PATH, HOME, locale, temp dir, proxies and certificates, npm's cache
 * and config files). An allow-list, not a deny-list: a controller run under
 * PM2 carries every option of its own app as a variable (PM2 copies its whole
 * `pm2_env` into the process: name, namespace, pm_id, unique_id, status,
 * instances, exec_mode, pm_cwd, pm_exec_path, NODE_APP_INSTANCE, PM2_HOME, …),
 * and the controller's secrets (PM2_GITOPS_*) must never reach a build.
 */

/** Host variables a step inherits, when set. */
export const PASSED_VARIABLES: readonly string[] = [
  'PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR',
  'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy',
  'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR',
  'XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'COREPACK_HOME', 'PNPM_HOME', 'YARN_CACHE_FOLDER',
  'npm_config_cache', 'npm_config_userconfig', 'npm_config_globalconfig', 'npm_config_registry',
  'NPM_CONFIG_CACHE', 'NPM_CONFIG_USERCONFIG', 'NPM_CONFIG_GLOBALCONFIG', 'NPM_CONFIG_REGISTRY',
];

/** Host variables a step inherits by prefix (locale categories). */
const PASSED_PREFIXES = ['LC_'];

/** Never passed from the host, whatever the lists above say. */
const NEVER_PASSED = /^PM2_GITOPS_/i;

/** Set for every step unless the task's env says otherwise: npm's update check is a network call that prints nothing useful in a build log. */
const STEP_DEFAULTS: Readonly<Record<string, string>> = { npm_config_update_notifier: 'false' };

/** The env of a step: allowed host variables, then defaults, then the task's own env (which wins). */
export function stepEnv(host: Readonly<Record<string, string | undefined>>, taskEnv: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(host)) {
    if (value === undefined || NEVER_PASSED.test(name)) continue;
    if (PASSED_VARIABLES.includes(name) || PASSED_PREFIXES.some((p) => name.startsWith(p))) env[name] = value;
  }
  return { ...env, ...STEP_DEFAULTS, ...(taskEnv ?? {}) };
}
