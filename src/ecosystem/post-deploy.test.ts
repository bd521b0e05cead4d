import { describe, expect, it } from 'vitest';
import { buildOfPostDeploy, splitCommand } from './post-deploy.js';

const W = 'deploy.production["post-deploy"]';

describe('splitCommand', () => {
  it('[import-post-deploy] splits at && ; and newlines outside quotes, keeping each step as written', () => {
    expect(splitCommand(`npm ci&&npm run build -- --msg "a && b; c" ;\n npm test ; ;`).map((s) => [s.text, s.words, s.shell])).toEqual([
      ['npm ci', ['npm', 'ci'], undefined],
      ['npm run build -- --msg "a && b; c"', ['npm', 'run', 'build', '--', '--msg', 'a && b; c'], undefined],
      ['npm test', ['npm', 'test'], undefined],
    ]);
  });

  it('[import-post-deploy] notes the first shell feature of a step beyond a plain command', () => {
    const shells = (c: string) => splitCommand(c).map((s) => s.shell ?? null);
    expect(shells('npm ci || npm install')).toEqual(['a fallback (||)']);
    expect(shells('npm run build > out.log; npm run a | tee x')).toEqual(['a redirection', 'a pipe']);
    expect(shells('npm run $(cat target) && echo `date` && npm run "$(x)"')).toEqual(['command substitution', 'command substitution', 'command substitution']);
    expect(shells('(npm ci) && npm run x & && npm run "y" # done')).toEqual(['a subshell', 'a background job', 'a comment']);
    expect(shells("npm run 'a > b' && npm run \"unclosed")).toEqual([null, 'an unclosed quote']);
    expect(shells('npm run build\\\n  --prod && npm run x\\;y')).toEqual([null, null]);
  });
});

describe('buildOfPostDeploy', () => {
  it('[import-post-deploy] takes install commands with their flags and build commands of npm, yarn, pnpm, npx, node and tsc', () => {
    expect(buildOfPostDeploy('yarn --production && yarn run build && pnpm exec vite build && node scripts/build.js && ./node_modules/.bin/tsc', W).build)
      .toEqual({ install: 'yarn --production', run: ['yarn run build', 'pnpm exec vite build', 'node scripts/build.js', './node_modules/.bin/tsc'] });
    expect(buildOfPostDeploy('npm i --omit=dev', W).build).toEqual({ install: 'npm i --omit=dev' });
    expect(buildOfPostDeploy('pnpm install', W).notes).toEqual([`${W} step 1 (pnpm): kept as written as spec.build.install; an install is reused while package.json, the lockfile and the command stay the same: consider "pnpm install --frozen-lockfile"`]);
    expect(buildOfPostDeploy('npm ci', W).notes).toEqual([]);
  });

  it('[import-post-deploy] leaves out installs of named or global packages, a second install and pm2 commands other than a (re)start', () => {
    const r = buildOfPostDeploy('npm ci && npm install -g pm2 && npm i left-pad && yarn add x && npm ci && npx pm2 startOrReload ecosystem.config.js && pm2 update && npm start', W);
    expect(r.build).toEqual({ install: 'npm ci' });
    expect(r.warnings).toEqual([
      `${W} step 2 (npm) was not carried over: it installs packages on the host, outside the build`,
      `${W} step 3 (npm) was not carried over: it installs named packages: add them to package.json, and the install step installs them`,
      `${W} step 4 (yarn) was not carried over: yarn add is not an install or build command`,
      `${W} step 5 (npm) was not carried over: spec.build has one install step, taken from an earlier step`,
      `${W} step 7 (pm2) was not carried over: pm2-gitops keeps the processes itself; pm2 commands do not belong in a build`,
      `${W} step 8 (npm) was not carried over: npm start is not an install or build command`,
    ]);
    expect(r.notes).toEqual([`${W} step 6 (pm2 startOrReload) dropped: the controller reloads or restarts the processes itself once the build is ready`]);
  });

  it('[import-post-deploy] installs first even when post-deploy built before it, and says so', () => {
    const r = buildOfPostDeploy('npm run prebuild && npm ci', W);
    expect(r.build).toEqual({ install: 'npm ci', run: ['npm run prebuild'] });
    expect(r.notes).toEqual([`${W} step 2 (npm) comes after build steps in ${W}; spec.build installs first`]);
  });

  it('[import-post-deploy] gives no build when nothing is left', () => {
    expect(buildOfPostDeploy('pm2 reload all', W)).toEqual({ notes: [`${W} step 1 (pm2 reload) dropped: the controller reloads or restarts the processes itself once the build is ready`], warnings: [] });
    expect(buildOfPostDeploy('  ', W)).toEqual({ notes: [], warnings: [] });
  });
});
