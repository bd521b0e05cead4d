/** Small manifest repositories for controller tests: a job and an HTTP service that echoes its env. */

export const SERVER_CJS = `const http = require('node:http');
http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ pid: process.pid, greeting: process.env.GREETING || null, token: process.env.SECRET_TOKEN ? 'set' : 'unset' }));
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

export const JOB_CJS = `setTimeout(() => process.exit(Number(process.env.EXIT_CODE || 0)), 100);\n`;

export interface TinyRepoOptions {
  env: string;
  namespace: string;
  port: number;
  greeting?: string;
  secret?: string;
  policy?: string;
  approvals?: number;
}

/** The files of a manifest repository with one environment, a `web` service and a `setup` job. */
export function tinyRepo(o: TinyRepoOptions): Record<string, string> {
  return {
    'apps/server.cjs': SERVER_CJS,
    'apps/job.cjs': JOB_CJS,
    'base/web.yaml': `apiVersion: pm2-gitops/v1
kind: Task
metadata:
  name: web
  context: { intent: serve, risk: low }
spec:
  dependsOn: [setup]
  health:
    http: { url: "http://127.0.0.1:${o.port}/" }
    timeoutSeconds: 10
    minUptimeSeconds: 0.2
  process:
    script: apps/server.cjs
    env:
      PORT: "${o.port}"
      GREETING: ${o.greeting ?? 'hello'}
      SECRET_TOKEN: ${o.secret ?? 'tok-0000'}
`,
    'base/setup.yaml': `apiVersion: pm2-gitops/v1
kind: Task
metadata:
  name: setup
spec:
  type: job
  process:
    script: apps/job.cjs
`,
    [`environments/${o.env}/environment.yaml`]: `apiVersion: pm2-gitops/v1
kind: Environment
metadata: { name: ${o.env} }
spec:
  resources: [../../base]
  namespace: ${o.namespace}
  policy:
    prune: true
    selfHeal: true
${o.policy ?? ''}${o.approvals ? `    approvals: { required: ${o.approvals} }\n` : ''}`,
  };
}
